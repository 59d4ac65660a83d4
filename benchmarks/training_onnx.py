"""ONNX Runtime vs PyTorch eager on the same network, and int8 vs fp32 (speed and accuracy).

    python benchmarks/training_onnx.py [--model model/releases/DIR] [--data data/plants-v1/manifest.csv]
                                       [--threads 2] [--images 64] [--split test]

1. **ORT vs eager.** The shipped architecture (EfficientNet-Lite0 + linear head, the offline
   ImageNet weights) is built in PyTorch, exported with the project's own exporter, and both
   run the same preprocessed real photos at batch 1 and batch 16 with the same thread count.
   Prints images/s and the ratio ORT / eager.
2. **int8 vs fp32.** The bundle (default: the released default) and its ``-int8`` sibling made
   by ``plantscout export --int8``: throughput of both at batch 1 and 16, and — on the
   ``--split`` of ``--data`` — top-1 agreement, accuracy and cannabis recall at the card's
   alert threshold for each, scored through ``plantscout.model.Scorer``.

Measurements alternate between the two sides (the CPUs are shared; drift hits both) and
report medians. Nothing is assumed: a ratio below 1 is printed as such.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch

from plantscout.datasets import read_records
from plantscout.model import load_bundle
from plantscout.model.bundle import INPUT_NAME, default_bundle_path
from plantscout.training.backbones import get_spec
from plantscout.training.data import eval_tensor
from plantscout.training.evaluate import compute_metrics, score_records
from plantscout.training.network import build_network
from plantscout.training.onnx_export import export_onnx


def _median_rate(fn: Callable[[], object], n_images: int, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return n_images / statistics.median(times)


def _session(path: Path, threads: int):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _batches(inputs: np.ndarray, size: int) -> list[np.ndarray]:
    return [inputs[i : i + size] for i in range(0, len(inputs) - size + 1, size)]


def ort_vs_eager(inputs: np.ndarray, threads: int, repeats: int) -> None:
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    net = build_network("tf_efficientnet_lite0", 5, pretrained=True).eval()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.onnx"
        export_onnx(net, path, inputs.shape[-1])
        session = _session(path, threads)
        print("\n## ONNX Runtime vs PyTorch eager (EfficientNet-Lite0 + head, fp32)\n")
        print("| batch | PyTorch eager img/s | ONNX Runtime img/s | ORT / eager |")
        print("| --- | --- | --- | --- |")
        for size in (1, 16):
            batches = _batches(inputs, size)[: max(1, 32 // size)]
            n = sum(len(b) for b in batches)
            eager_rates, ort_rates = [], []
            for _ in range(3):
                with torch.inference_mode():
                    eager_rates.append(
                        _median_rate(
                            lambda batches=batches: [net(torch.from_numpy(b)) for b in batches],
                            n,
                            repeats,
                        )
                    )
                ort_rates.append(
                    _median_rate(
                        lambda batches=batches: [
                            session.run(None, {INPUT_NAME: b}) for b in batches
                        ],
                        n,
                        repeats,
                    )
                )
            eager, ort = statistics.median(eager_rates), statistics.median(ort_rates)
            print(f"| {size} | {eager:.1f} | {ort:.1f} | ×{ort / eager:.2f} |")


def int8_vs_fp32(model: Path, inputs: np.ndarray, records, threads: int, repeats: int) -> None:
    fp32 = load_bundle(model)
    int8_dir = model.parent / f"{model.name}-int8"
    if not int8_dir.is_dir():
        print(f"\n(no int8 sibling {int8_dir}: run `plantscout export RUN --out {model} --int8`)")
        return
    int8 = load_bundle(int8_dir)
    print(f"\n## int8 vs fp32 ({fp32.name} {fp32.version})\n")
    print(
        f"ONNX size: fp32 {fp32.onnx_path.stat().st_size / 1e6:.1f} MB, "
        f"int8 {int8.onnx_path.stat().st_size / 1e6:.1f} MB\n"
    )
    print("| batch | fp32 img/s | int8 img/s | int8 / fp32 |")
    print("| --- | --- | --- | --- |")
    s32, s8 = _session(fp32.onnx_path, threads), _session(int8.onnx_path, threads)
    for size in (1, 16):
        batches = _batches(inputs, size)[: max(1, 32 // size)]
        n = sum(len(b) for b in batches)
        a, b = [], []
        for _ in range(3):
            a.append(
                _median_rate(
                    lambda batches=batches: [s32.run(None, {INPUT_NAME: x}) for x in batches],
                    n,
                    repeats,
                )
            )
            b.append(
                _median_rate(
                    lambda batches=batches: [s8.run(None, {INPUT_NAME: x}) for x in batches],
                    n,
                    repeats,
                )
            )
        r32, r8 = statistics.median(a), statistics.median(b)
        print(f"| {size} | {r32:.1f} | {r8:.1f} | ×{r8 / r32:.2f} |")
    if not records:
        return
    scored32 = score_records(fp32, records, threads=threads)
    scored8 = score_records(int8, records, threads=threads)
    m32, m8 = compute_metrics(scored32, fp32), compute_metrics(scored8, int8)
    agree = float((scored32.probs.argmax(1) == scored8.probs.argmax(1)).mean())
    verdicts = float(
        np.mean([x == y for x, y in zip(scored32.verdicts, scored8.verdicts, strict=True)])
    )
    print(f"\nAccuracy change on {len(records)} images (same card thresholds and temperature):\n")
    print("| metric | fp32 | int8 | change |")
    print("| --- | --- | --- | --- |")
    rows = [("accuracy (argmax)", m32["accuracy"], m8["accuracy"])]
    for key in m32["targets"]:
        rows.append((key, m32["targets"][key]["value"], m8["targets"][key]["value"]))
    for name, x, y in rows:
        if x is None or y is None:
            print(f"| {name} | {x} | {y} | — |")
        else:
            print(f"| {name} | {x:.4f} | {y:.4f} | {y - x:+.4f} |")
    print(f"\nTop-1 agreement int8 vs fp32: {agree:.4f}; verdict agreement: {verdicts:.4f}.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, default=None, help="fp32 bundle (default: DEFAULT)")
    parser.add_argument("--data", type=Path, default=Path("data/plants-v1/manifest.csv"))
    parser.add_argument("--split", default="test")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--images", type=int, default=64, help="real photos for speed runs")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    model = args.model or default_bundle_path()
    spec = get_spec("tf_efficientnet_lite0").preprocessing
    records = []
    if args.data.is_file():
        records = [r for r in read_records(args.data) if r.split == args.split]
    photos = [r for r in records if not r.is_tile][: args.images]
    if len(photos) < args.images:
        raise SystemExit(f"need {args.images} {args.split} photos in {args.data} (build it first)")
    inputs = np.stack([eval_tensor(r, spec) for r in photos]).astype(np.float32)
    print(
        f"# training_onnx benchmark — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC\n\n"
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs visible, threads {args.threads}; "
        f"torch {torch.__version__}; {len(photos)} real {args.split} photos from {args.data}"
    )
    ort_vs_eager(inputs, args.threads, args.repeats)
    int8_vs_fp32(model, inputs, records, args.threads, args.repeats)


if __name__ == "__main__":
    main()
