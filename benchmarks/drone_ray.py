"""Frames per second of ``plantscout scan --ray`` with 1 and 2 Ray worker nodes (issue 16).

    python benchmarks/drone_ray.py [--model DIR] [--frames 8] [--gsd-cm 1]

Builds ``--frames`` composite 20 MP frames from real pixels (``drone_survey.survey_like`` on
the test split: ODM background with hemp plots, labelled composites), then in one run:

1. a **local** scan with one worker process of one ONNX thread (the reference a Ray task of
   one CPU is compared with: what Ray costs on top);
2. a Ray cluster started here with ``ray start --head --num-cpus=1`` — **1 worker**;
3. a second node joined with ``ray start --address … --num-cpus=1`` — **2 workers**.

Each scan goes to a fresh output folder (nothing resumed) and is timed from the call to the
last output written, Ray's connection included. The outputs of the three scans are compared
(CSV / GeoJSON / KML byte for byte). Ratios are within this run; on a machine whose cores
other jobs share, the load average printed at each step says how much of the cores the
scans had. Ray starts its worker processes at niceness 15 (``RAY_worker_niceness``), so on
cores shared with other work they get less CPU than the local scan's process;
``--worker-niceness`` (default 0, as the local scan) is passed to ``ray start``. The cluster's processes are found by the temporary folder on their command line
and killed by id at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
import drone_survey  # noqa: E402

RAY = str(Path(sys.executable).with_name("ray"))
OUTPUTS = ("detections.csv", "detections.geojson", "detections.kml")
COMMON = ["--num-cpus=1", "--object-store-memory=300000000", "--disable-usage-stats"]


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _ours(marker: str) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline", "ppid"]):
        try:
            line = " ".join(proc.info["cmdline"] or [])
            parent = psutil.Process(proc.info["ppid"]).cmdline() if proc.info["ppid"] else []
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
        if marker in line or marker in " ".join(parent):
            found.append(proc)
    return found


def _timed_scan(frames: list[Path], out: Path, model: Path | None, gsd_m: float, **kw) -> float:
    from plantscout.drone.runner import scan_flight
    from plantscout.drone.scan import ScanOptions

    start = time.perf_counter()
    results, _ = scan_flight(frames, out, bundle=model, options=ScanOptions(gsd_m=gsd_m), **kw)
    seconds = time.perf_counter() - start
    bad = [r.verdict for r in results if r.verdict in ("error", "worker_lost")]
    if bad:
        raise RuntimeError(f"{len(bad)} frames failed: {bad}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None, help="default: the released bundle")
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--gsd-cm", type=float, default=1.0)
    parser.add_argument("--worker-niceness", type=int, default=0, help="Ray's default is 15")
    args = parser.parse_args()
    import ray

    from plantscout.model.lifecycle.resolve import resolve_bundle

    model = resolve_bundle(args.model).path
    print(
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {platform.node()}; "
        f"{os.cpu_count()} cores; ray {ray.__version__}; bundle {model}; Ray worker niceness {args.worker_niceness}; load {_load()}"
    )
    gsd = args.gsd_cm / 100
    pool = drone_survey.frame_pool("test")
    folder = Path(tempfile.mkdtemp(prefix="psrb", dir="/tmp"))  # short: Ray's socket paths
    env = {
        **os.environ,
        "RAY_USAGE_STATS_ENABLED": "0",
        "RAY_worker_niceness": str(args.worker_niceness),
    }
    rows: dict[str, float] = {}
    try:
        frames = [
            drone_survey.save_jpeg(
                drone_survey.survey_like(pool, gsd, seed=200 + i)[0], folder / f"frame{i}.jpg"
            )
            for i in range(args.frames)
        ]
        print(f"{len(frames)} composite 20 MP frames at {args.gsd_cm:g} cm/px")
        rows["local, 1 process × 1 thread"] = _timed_scan(
            frames, folder / "local", model, gsd, workers=1, threads=1
        )
        print(f"local: {rows['local, 1 process × 1 thread']:.1f} s; load {_load()}", flush=True)

        address = f"127.0.0.1:{_free_port()}"
        subprocess.run(
            [RAY, "start", "--head", f"--port={address.split(':')[1]}",
             f"--temp-dir={folder / 'ray'}", "--include-dashboard=false", *COMMON],
            check=True, capture_output=True, timeout=300, env=env,
        )  # fmt: skip
        rows["Ray, 1 node × 1 CPU"] = _timed_scan(
            frames, folder / "ray1", model, gsd, ray_address=address
        )
        ray.shutdown()
        print(f"ray 1: {rows['Ray, 1 node × 1 CPU']:.1f} s; load {_load()}", flush=True)
        subprocess.run(
            [RAY, "start", f"--address={address}", *COMMON],
            check=True, capture_output=True, timeout=300, env=env,
        )  # fmt: skip
        rows["Ray, 2 nodes × 1 CPU"] = _timed_scan(
            frames, folder / "ray2", model, gsd, ray_address=address
        )
        ray.shutdown()
        print(f"ray 2: {rows['Ray, 2 nodes × 1 CPU']:.1f} s; load {_load()}", flush=True)

        same = all(
            (folder / "local" / n).read_bytes() == (folder / r / n).read_bytes()
            for r in ("ray1", "ray2")
            for n in OUTPUTS
        )
        base = rows["Ray, 1 node × 1 CPU"]
        print("\n| scan | seconds | frames/s | ÷ Ray 1 node |")
        print("| --- | --- | --- | --- |")
        for name, seconds in rows.items():
            print(
                f"| {name} | {seconds:.1f} | {len(frames) / seconds:.3f} | ×{base / seconds:.2f} |"
            )
        print(f"\noutputs (CSV, GeoJSON, KML) identical across the three scans: {same}")
        print(json.dumps({k: round(v, 2) for k, v in rows.items()}))
    finally:
        if ray.is_initialized():
            ray.shutdown()
        procs = _ours(str(folder))
        for proc in procs:
            try:
                proc.kill()
            except psutil.NoSuchProcess:
                pass
        psutil.wait_procs(procs, timeout=30)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
