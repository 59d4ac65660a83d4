"""Scoring throughput of a bundle and the effect of decode-time JPEG reduction.

    python benchmarks/scoring.py [--model DIR] [--threads N] [--repeat R]

Measures, on this machine, in one run:
- images per second through ``Scorer.run`` at batch 1 and batch 16 (preprocessed tensors,
  so this is the network alone), and end to end from JPEG bytes (decode + preprocess + run);
- decode time of a 12 MP JPEG (4000×3000) with and without ``Image.draft`` reduction, and
  the ratio between them. The 12 MP test photo is synthesised (smooth gradients + noise,
  quality 90) because the shared photos are all ≤ 1600 px.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import statistics
import time
from collections.abc import Callable

import numpy as np
from PIL import Image

from plantscout.model import Scorer, read_image
from plantscout.model.preprocess import preprocess


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    fn()  # warm-up: first runs pay for allocation and graph initialisation
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples


def synthetic_photo(width: int = 4000, height: int = 3000, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack(
        [
            120 + 60 * np.sin(x / 97.0),
            140 + 50 * np.cos(y / 71.0),
            90 + 40 * np.sin((x + y) / 53.0),
        ],
        axis=-1,
    )
    pixels = np.clip(base + rng.normal(0, 18, base.shape), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model", default=None, help="bundle directory (default: the default release)"
    )
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    scorer = Scorer(args.model, intra_op_threads=args.threads, batch_size=16)
    spec = scorer.card.preprocessing
    identity = scorer.identity
    print(f"# scoring benchmark — {time.strftime('%Y-%m-%d')}")
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}"
    )
    print(
        f"bundle: {identity['name']} {identity['version']} ({identity['sha256'][:12]}), input {spec.input_size} px"
    )
    print(f"onnxruntime threads: {args.threads}")

    photo = synthetic_photo()
    tensor = preprocess(read_image(photo, min_decoded_side=spec.resize_side).image, spec)
    rows = []
    for batch in (1, 16):
        data = np.repeat(tensor[None], batch, axis=0)
        samples = timed(lambda data=data: scorer.run(data), args.repeat)
        rows.append((f"network, batch {batch}", batch / statistics.median(samples)))

    full = timed(lambda: read_image(photo), args.repeat)
    reduced = timed(lambda: read_image(photo, min_decoded_side=spec.resize_side), args.repeat)
    end_to_end = timed(lambda: scorer.score_image(scorer.read(photo)), args.repeat)
    rows.append(("end to end from 12 MP JPEG bytes, batch 1", 1 / statistics.median(end_to_end)))

    print()
    print("| measurement | images / s |")
    print("| --- | --- |")
    for name, value in rows:
        print(f"| {name} | {value:.1f} |")
    print()
    print(f"12 MP JPEG ({len(photo) / 1e6:.1f} MB) decode, median of {args.repeat}:")
    print(f"- full decode:            {statistics.median(full) * 1000:.0f} ms")
    print(
        f"- decode-time reduction:  {statistics.median(reduced) * 1000:.0f} ms (to ≥ {spec.resize_side} px)"
    )
    print(f"- ratio full / reduced:   {statistics.median(full) / statistics.median(reduced):.1f}×")
    print(f"- batch 16 vs batch 1 throughput: {rows[1][1] / rows[0][1]:.2f}×")


if __name__ == "__main__":
    main()
