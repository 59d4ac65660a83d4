"""Replay inputs through a fuzz target without atheris: for coverage.py, or a debugger.

    python tests/fuzz/fuzz_replay.py TARGET PATH...     (files, or folders of files)
    python -m coverage run --branch --include='*/drone/geotags.py' \
        tests/fuzz/fuzz_replay.py geotags var/fuzz/corpus-geotags && python -m coverage report

Prints how many inputs ran and each one that broke the contract (the run goes on).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import fuzz_targets  # noqa: E402 - after the path insert above


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] not in fuzz_targets.TARGETS:
        print(f"usage: {argv[0]} {{{','.join(fuzz_targets.TARGETS)}}} PATH...", file=sys.stderr)
        return 2
    target = fuzz_targets.TARGETS[argv[1]]
    files = [f for p in map(Path, argv[2:]) for f in (sorted(p.iterdir()) if p.is_dir() else [p])]
    broken = 0
    for path in files:
        try:
            target(path.read_bytes())
        except Exception as exc:  # noqa: BLE001 - reported, and the replay goes on
            broken += 1
            print(f"{path.name}: {type(exc).__name__}: {str(exc)[:200]}")
    print(f"{len(files)} inputs, {broken} broke the contract")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
