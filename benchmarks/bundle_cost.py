"""Per-image CPU time of a candidate bundle against a baseline bundle, in the same run.

    python benchmarks/bundle_cost.py --baseline model/releases/plantscout-lite0-1.0.0 \
        [--candidate DIR] [--threads 2] [--rounds 5] [--photos 64]

The issue-11 budget is "per-image CPU time ≤ 1.5× that of 1.0.0". Measured end to end as
the service scores a photo — ``Scorer.read`` (decode, EXIF, reduction) + ``score_images``
(preprocess, network, decision rule, and for gated bundles the familiarity search) — one
image at a time, on real photos from ``../shared/datasets/plants-v1`` (every Nth test-split
photo, as shipped: ≤ 512 px) and on a synthetic 12 MP JPEG. CPU time is the process's user +
system time (``time.process_time``), which counts every ONNX Runtime thread; wall time is
printed beside it. Baseline and candidate alternate round by round so a change in machine
load hits both; the ratio is of the medians.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import statistics
import time
from pathlib import Path

from scoring import synthetic_photo  # noqa: E402  (benchmarks/ is run as a script folder)

from plantscout.model import Scorer, load_bundle

SHARED = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "plants-v1"


def real_photos(n: int) -> list[bytes]:
    with open(SHARED / "manifest.csv", newline="", encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["kind"] == "photo"]
    step = max(1, len(rows) // n)
    return [(SHARED / r["path"]).read_bytes() for r in rows[::step][:n]]


def per_image(scorer: Scorer, images: list[bytes]) -> tuple[float, float]:
    """(CPU seconds, wall seconds) per image, one image at a time."""
    cpu, wall = time.process_time(), time.perf_counter()
    for data in images:
        scorer.score_image(scorer.read(data))
    return (
        (time.process_time() - cpu) / len(images),
        (time.perf_counter() - wall) / len(images),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", required=True, help="bundle directory (e.g. 1.0.0)")
    parser.add_argument("--candidate", default=None, help="bundle directory (default release)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--photos", type=int, default=64)
    args = parser.parse_args()

    bundles = {
        "baseline": load_bundle(args.baseline),
        "candidate": load_bundle(args.candidate),
    }
    scorers = {
        k: Scorer(b, intra_op_threads=args.threads, batch_size=1) for k, b in bundles.items()
    }
    sets = {"real photos (≤ 512 px)": real_photos(args.photos), "12 MP JPEG": [synthetic_photo()]}
    print(f"# bundle cost benchmark — {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}")
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, python "
        f"{platform.python_version()}, load average {os.getloadavg()[0]:.2f} at start"
    )
    for key, bundle in bundles.items():
        gate = bundle.card.familiarity
        print(
            f"{key}: {bundle.name} {bundle.version} ({bundle.sha256[:12]})"
            + (f", familiarity gate with {gate.references} references" if gate else "")
        )
    print(f"onnxruntime threads: {args.threads}, {args.rounds} alternating rounds")
    print()
    print("| images | baseline CPU ms/img | candidate CPU ms/img | CPU ratio | wall ratio |")
    print("| --- | --- | --- | --- | --- |")
    for name, images in sets.items():
        for scorer in scorers.values():
            per_image(scorer, images[:4])  # warm-up
        samples: dict[str, list[tuple[float, float]]] = {k: [] for k in scorers}
        for _ in range(args.rounds):
            for key, scorer in scorers.items():
                samples[key].append(per_image(scorer, images))
        cpu = {k: statistics.median(c for c, _ in v) for k, v in samples.items()}
        wall = {k: statistics.median(w for _, w in v) for k, v in samples.items()}
        print(
            f"| {name} ({len(images)}) | {cpu['baseline'] * 1e3:.1f} | "
            f"{cpu['candidate'] * 1e3:.1f} | ×{cpu['candidate'] / cpu['baseline']:.2f} | "
            f"×{wall['candidate'] / wall['baseline']:.2f} |"
        )


if __name__ == "__main__":
    main()
