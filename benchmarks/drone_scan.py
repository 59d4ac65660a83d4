"""Drone scanning: peak memory versus frame size, and seconds per 20 MP frame.

    python benchmarks/drone_scan.py [--model DIR | --standin lite0] [--skip-speed] [--frames N]
                                    [--gsd-cm CM] [--overlap F]

Memory: each measurement runs in a fresh child process that loads the scorer, records its
peak resident set (VmHWM) before scanning, scans one synthetic frame and reports VmHWM again. Frames of 12 MP (4000×3000) and 100 MP (11552×8672) are scanned with the same
tile plan (fallback tiles of 2 × the model input, decoded at 1/2), once streamed (the
default) and once decoded whole (``allow_streaming=False``) for contrast. Goal (issue 5):
peak(100 MP) / peak(12 MP) ≤ 1.2.

Speed: ``scan_flight`` over several synthetic 20 MP frames (5472×3648, the 1" sensors of
Phantom 4 Pro / Mavic 2 Pro) with 2 worker processes × 1 thread, and with 1 × 2, reporting
seconds per frame. Goal: ≤ 2.2 s per frame on a 2-core laptop. The synthetic frames carry no
metadata, so by default the speed run uses the fallback tiles too (2 × the model input);
``--gsd-cm`` gives the frames a ground resolution (like ``plantscout scan --gsd``), so tiles
cover ``input × the card's tiles.gsd_m`` of ground, e.g. ``--gsd-cm 1`` for frames at the
bundle's own 1 cm/px. ``--overlap`` (default 0.25, the scan default) applies to the speed run.
The memory run always uses the fallback plan.

Model: ``--model DIR`` (default: the released default bundle when there is one). Without a
bundle, ``--standin lite0`` exports an untrained EfficientNet-Lite0 to ONNX (needs the train
extra): it has the real network's cost, not its answers. The tiny test bundle (a colour rule)
measures decode + tiling + bookkeeping alone.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

if TYPE_CHECKING:
    from plantscout.drone import ScanOptions

SIZES = {"12MP": (4000, 3000), "20MP": (5472, 3648), "100MP": (11552, 8672)}


def synthetic_frame(path: Path, width: int, height: int, seed: int = 0) -> None:
    """Field-like texture (rows, blobs, noise) with a few green patches, JPEG quality 90."""
    rng = np.random.default_rng(seed)
    rows = []
    for y0 in range(0, height, 512):  # built in strips to keep the generator itself small
        y1 = min(height, y0 + 512)
        y, x = np.mgrid[y0:y1, 0:width].astype(np.float32)
        strip = np.stack(
            [
                110 + 40 * np.sin(x / 37.0) * np.cos(y / 53.0),
                120 + 45 * np.sin((x + y) / 41.0),
                80 + 30 * np.cos(x / 29.0),
            ],
            axis=-1,
        )
        strip += rng.normal(0, 12, strip.shape).astype(np.float32)
        rows.append(np.clip(strip, 0, 255).astype(np.uint8))
    pixels = np.concatenate(rows)
    for _ in range(6):
        cx, cy = rng.integers(0, width), rng.integers(0, height)
        r = int(min(width, height) * 0.04)
        pixels[max(0, cy - r) : cy + r, max(0, cx - r) : cx + r] = (40, 170, 50)
    Image.fromarray(pixels).save(path, "JPEG", quality=90)


def vm_hwm_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def measure_child(frame: str, model: str, mode: str, threads: int) -> None:
    """Runs in a fresh process: print one JSON line with memory and time."""
    from plantscout.drone import ScanOptions, scan_frame
    from plantscout.drone import frames as frames_module
    from plantscout.model import Scorer

    scorer = Scorer(model, intra_op_threads=threads)
    scorer.score_tiles([np.zeros((scorer.card.preprocessing.input_size,) * 2 + (3,), np.uint8)])
    before = vm_hwm_mb()
    if mode == "whole":
        original = frames_module.FrameReader.__init__

        def whole(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            kwargs["allow_streaming"] = False
            original(self, *args, **kwargs)

        frames_module.FrameReader.__init__ = whole  # type: ignore[method-assign]
    start = time.perf_counter()
    result = scan_frame(frame, scorer, ScanOptions())
    seconds = time.perf_counter() - start
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss across exec from the parent, which
    # generated the (large) synthetic frame; VmHWM belongs to this process image alone.
    peak = vm_hwm_mb()
    print(
        json.dumps(
            {
                "before_scan_mb": round(before, 1),
                "peak_mb": round(peak, 1),
                "seconds": round(seconds, 2),
                "tiles": result.tiles_scored,
                "verdict": result.verdict,
                "error": result.error,
            }
        )
    )


def speed_child(
    folder: str, model: str, workers: int, threads: int, out: str, options: ScanOptions
) -> None:
    """Runs in a fresh process: scan a folder like the CLI does; wall and CPU seconds."""
    import resource

    from plantscout.drone.runner import collect_frames, scan_flight

    frames = collect_frames([folder])
    cpu0 = _cpu(resource)
    start = time.perf_counter()
    results, _ = scan_flight(
        frames, Path(out), bundle=model, options=options, workers=workers, threads=threads
    )
    wall = time.perf_counter() - start
    print(
        json.dumps(
            {
                "wall_s": round(wall, 2),
                "cpu_s": round(_cpu(resource) - cpu0, 2),
                "frames": len(results),
                "tiles": sum(r.tiles_scored for r in results),
                "tile_px": results[0].plan.get("tile_px"),
                "basis": results[0].plan.get("basis"),
                "errors": sum(r.verdict == "error" for r in results),
            }
        )
    )


def _cpu(resource) -> float:  # noqa: ANN001
    """User + system CPU seconds of this process and its finished children (pool workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def run_child(*args: str) -> dict:
    output = subprocess.run(
        [sys.executable, __file__, *args], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def standin_lite0(directory: Path) -> Path:
    """An untrained EfficientNet-Lite0 as a bundle: the real network's cost, random answers."""
    import timm
    import torch

    from plantscout.model.bundle import file_sha256
    from plantscout.model.testing import build_tiny_bundle

    bundle = build_tiny_bundle(directory, input_size=224, name="standin-lite0-untrained")
    net = timm.create_model("tf_efficientnet_lite0", pretrained=False, num_classes=0).eval()
    head = torch.nn.Linear(net.num_features, 5)

    class Wrapped(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net, self.head = net, head

        def forward(self, image):  # type: ignore[no-untyped-def]
            features = self.net(image)
            return self.head(features), torch.nn.functional.normalize(features, dim=1)

    with torch.no_grad():
        _export(torch, Wrapped().eval(), bundle / "model.onnx")
    card = json.loads((bundle / "card.json").read_text())
    card["onnx"]["sha256"] = file_sha256(bundle / "model.onnx")
    card["onnx"]["embedding_dim"] = net.num_features
    card["architecture"] = "tf_efficientnet_lite0, untrained (benchmark stand-in)"
    (bundle / "card.json").write_text(json.dumps(card, indent=1))
    return bundle


def _export(torch, model, path: Path) -> None:  # noqa: ANN001
    torch.onnx.export(
        model,
        (torch.zeros(1, 3, 224, 224),),
        str(path),
        input_names=["image"],
        output_names=["logits", "embedding"],
        dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}, "embedding": {0: "batch"}},
        opset_version=17,
        dynamo=False,
    )


def describe(path: str) -> str:
    from plantscout.model import load_bundle

    identity = load_bundle(path).identity()
    return f"{identity['name']} {identity['version']}, sha256 {identity['sha256'][:12]}"


def pick_model(args: argparse.Namespace, work: Path) -> tuple[str, str]:
    if args.model:
        return args.model, f"bundle {args.model} ({describe(args.model)})"
    if args.standin == "lite0":
        return str(
            standin_lite0(work / "standin")
        ), "untrained EfficientNet-Lite0 stand-in (224 px)"
    from plantscout.model.bundle import default_bundle_path
    from plantscout.model.errors import NoDefaultModel

    try:
        path = default_bundle_path()
        return str(path), f"default bundle {path.name} ({describe(str(path))})"
    except NoDefaultModel:
        from plantscout.model.testing import build_tiny_bundle

        path = build_tiny_bundle(work / "tiny")
        return str(path), "tiny colour-rule bundle (64 px): decode + tiling overhead only"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default=None)
    parser.add_argument("--standin", choices=["lite0"], default=None)
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--frames", type=int, default=6, help="20 MP frames for the speed run")
    parser.add_argument(
        "--gsd-cm",
        type=float,
        default=None,
        help="speed run: frames' ground resolution in cm/px (default: none, fallback tiles)",
    )
    parser.add_argument("--overlap", type=float, default=0.25, help="speed run: tile overlap")
    parser.add_argument("--measure", nargs=4, metavar=("FRAME", "MODEL", "MODE", "THREADS"))
    parser.add_argument("--speed", nargs=5, metavar=("DIR", "MODEL", "WORKERS", "THREADS", "OUT"))
    args = parser.parse_args()
    if args.measure:
        frame, model, mode, threads = args.measure
        measure_child(frame, model, mode, int(threads))
        return
    if args.speed:
        folder, model, workers, threads, out = args.speed
        from plantscout.drone import ScanOptions

        options = ScanOptions(
            gsd_m=args.gsd_cm / 100 if args.gsd_cm else None, overlap=args.overlap
        )
        speed_child(folder, model, int(workers), int(threads), out, options)
        return

    work = Path(tempfile.mkdtemp(prefix="drone-bench-"))
    try:
        model, model_note = pick_model(args, work)
        load = os.getloadavg()
        print(f"# drone_scan benchmark — {time.strftime('%Y-%m-%d %H:%M')}")
        print(
            f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
        )
        print(f"load average at start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
        print(f"model: {model_note}")

        if not args.skip_memory:
            print("\n## peak memory, one frame per fresh process (2 ONNX threads)")
            print(
                "| frame | mode | RSS before scan (MB) | peak RSS (MB) | scan growth (MB) | tiles | s |"
            )
            print("| --- | --- | --- | --- | --- | --- | --- |")
            peaks: dict[tuple[str, str], float] = {}
            for name in ("12MP", "100MP"):
                path = work / f"{name}.jpg"
                synthetic_frame(path, *SIZES[name])
                for mode in ("streamed", "whole"):
                    m = run_child("--measure", str(path), model, mode, "2")
                    peaks[(name, mode)] = m["peak_mb"]
                    print(
                        f"| {name} ({path.stat().st_size / 1e6:.0f} MB file) | {mode} | {m['before_scan_mb']} "
                        f"| {m['peak_mb']} | {m['peak_mb'] - m['before_scan_mb']:.1f} | {m['tiles']} | {m['seconds']} |"
                    )
                path.unlink()
            for mode in ("streamed", "whole"):
                ratio = peaks[("100MP", mode)] / peaks[("12MP", mode)]
                print(
                    f"\npeak(100 MP) / peak(12 MP), {mode}: {ratio:.2f}"
                    + ("  (goal ≤ 1.2)" if mode == "streamed" else "")
                )

        if not args.skip_speed:
            print(
                f"\n## seconds per 20 MP frame ({args.frames} frames, 5472×3648), fresh process each"
            )
            gsd = f"{args.gsd_cm:g} cm/px (--gsd-cm)" if args.gsd_cm else "unknown (no metadata)"
            print(f"frame ground resolution: {gsd}; tile overlap {args.overlap:g}")
            print("CPU seconds are load-independent: on an idle 2-core laptop, wall ≈ CPU / 2.")
            folder = work / "flight"
            folder.mkdir(exist_ok=True)
            for i in range(args.frames):
                synthetic_frame(folder / f"f{i:03d}.jpg", *SIZES["20MP"], seed=i)
            for workers, threads in ((2, 1), (1, 2)):
                m = run_child(
                    "--speed",
                    str(folder),
                    model,
                    str(workers),
                    str(threads),
                    str(work / f"out{workers}"),
                    *(["--gsd-cm", str(args.gsd_cm)] if args.gsd_cm else []),
                    "--overlap",
                    str(args.overlap),
                )
                n = m["frames"]
                print(
                    f"- {workers} worker(s) × {threads} thread(s): wall {m['wall_s'] / n:.2f} s/frame, "
                    f"CPU {m['cpu_s'] / n:.2f} s/frame ({m['tiles'] // n} tiles of {m['tile_px']} px "
                    f"per frame, plan basis {m['basis']}; {n} frames, {m['errors']} errors; "
                    "wall includes worker start-up)"
                )
        load = os.getloadavg()
        print(f"\nload average at end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)  # synthetic frames are hundreds of MB


if __name__ == "__main__":
    main()
