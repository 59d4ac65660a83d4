"""Run one fuzz target under atheris (libFuzzer, coverage-guided).

    python tests/fuzz/fuzz_main.py TARGET [CORPUS_DIR] [--keep-going=DIR] [libFuzzer flags]

TARGET is one of ``intake``, ``geotags``, ``targets``, ``history``, ``forms`` (see ``fuzz_targets.py``).
CORPUS_DIR (default: a temporary folder) receives the target's seeds (``fuzz_seeds.py``) and
every new input libFuzzer finds; crashes are written as ``crash-*`` files in the current
folder. ``--keep-going=DIR`` records each distinct finding (its input and message, one per
exception type and first line) in DIR and goes on fuzzing, for long runs past known findings
(libFuzzer's fork mode does not work under atheris). The CI run (``tests/fuzz/test_fuzz.py``) passes ``-seed=1 -runs=N``; the long run is
documented in ``tests/fuzz/README.md``.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import atheris

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

# Python modules whose branches guide the mutations, per target. They must be imported for the
# first time inside ``instrument_imports``; the C parts (libjpeg, zlib, expat, _csv) are not
# instrumented and are reached through the Python code that drives them.
INSTRUMENT = {
    "intake": ["plantscout.model", "PIL"],
    "geotags": ["plantscout.drone.geotags", "defusedxml"],  # exifread: 10× slower runs
    "targets": ["plantscout.serve.services.target_files", "plantscout.serve.geo"],
    "history": ["plantscout.serve.services.planning.files", "plantscout.serve.geo"],
    "forms": ["plantscout.serve", "python_multipart", "multipart"],
}
WARM = {  # modules a target imports lazily: imported here so they are instrumented
    "intake": ["plantscout.model.intake", "plantscout.model.preprocess", "PIL.PngImagePlugin"],
    "geotags": ["exifread", "defusedxml.ElementTree"],
    "targets": ["plantscout.serve.services.target_files"],
    "history": ["plantscout.serve.services.planning.history"],
    "forms": ["plantscout.serve.app", "python_multipart"],
}


def main(argv: list[str]) -> None:
    if len(argv) < 2 or argv[1] not in INSTRUMENT:
        sys.exit(f"usage: {argv[0]} {{{','.join(INSTRUMENT)}}} [CORPUS_DIR] [libFuzzer flags]")
    target = argv[1]
    rest = argv[2:]
    keep_going = next((a.split("=", 1)[1] for a in rest if a.startswith("--keep-going=")), None)
    corpus = [a for a in rest if not a.startswith("-")]
    flags = [a for a in rest if a.startswith("-") and not a.startswith("--keep-going=")]
    if not corpus:
        corpus = [tempfile.mkdtemp(prefix=f"fuzz-{target}-")]

    import importlib

    with atheris.instrument_imports(include=INSTRUMENT[target]):
        for name in WARM[target]:
            try:
                importlib.import_module(name)
            except ImportError:  # an optional module (e.g. python_multipart's old name)
                pass
        import fuzz_seeds
        import fuzz_targets

    fuzz_seeds.write_corpus(target, Path(corpus[0]))
    one_input = fuzz_targets.TARGETS[target]
    if target == "forms":
        one_input(b"\x01")  # start the app once, outside the timed inputs

    def test_one_input(data: bytes) -> None:
        one_input(data)

    if keep_going:
        test_one_input = _recording(one_input, Path(keep_going))

    atheris.Setup([argv[0], *flags, *corpus], test_one_input)
    atheris.Fuzz()


def _recording(one_input, folder: Path):
    """The target, with each distinct finding written to ``folder`` instead of raised."""
    import hashlib
    import traceback

    folder.mkdir(parents=True, exist_ok=True)
    seen: set[str] = set()

    def test_one_input(data: bytes) -> None:
        try:
            one_input(data)
        except Exception as exc:  # noqa: BLE001 - every finding is recorded
            first = (str(exc).splitlines() or [""])[0]
            signature = f"{type(exc).__name__}: {first[:160]}"
            if signature in seen:
                return
            seen.add(signature)
            name = hashlib.sha1(data).hexdigest()[:16]
            (folder / f"finding-{name}").write_bytes(data)
            (folder / f"finding-{name}.txt").write_text(
                signature + "\n\n" + "".join(traceback.format_exception(exc))
            )

    return test_one_input


if __name__ == "__main__":
    main(sys.argv)
