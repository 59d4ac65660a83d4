"""``plantscout scan --ray``: a flight on a real two-node Ray cluster (issue 16, item 3).

The cluster is started here with ``ray start`` (a head and a second node, one CPU each, in a
temporary folder of their own) and stopped by killing exactly the processes started for it.
One cluster serves every test of the module: starting Ray costs ~20 s on 2 busy cores.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import ray  # the cluster extra; CI installs it (scripts/test.sh)
from click.testing import CliRunner

from plantscout.cli import cli
from plantscout.drone.cluster import scan_on_ray
from plantscout.drone.runner import Layout, scan_flight
from plantscout.drone.scan import ScanOptions

RAY = str(Path(sys.executable).with_name("ray"))
OUTPUTS = ("detections.csv", "detections.geojson", "detections.kml")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _ours(marker: str) -> list[psutil.Process]:
    """Processes of this cluster: their command line names its temporary folder, or their
    parent's does (Ray's agents)."""
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


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    folder = tempfile.mkdtemp(prefix="psray", dir="/tmp")  # short: Ray's socket paths
    address = f"127.0.0.1:{_free_port()}"
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    common = ["--num-cpus=1", "--object-store-memory=150000000", "--disable-usage-stats"]
    try:
        subprocess.run(
            [RAY, "start", "--head", f"--port={address.split(':')[1]}", f"--temp-dir={folder}",
             "--include-dashboard=false", *common],
            check=True, capture_output=True, timeout=180, env=env,
        )  # fmt: skip
        subprocess.run(
            [RAY, "start", f"--address={address}", *common],
            check=True, capture_output=True, timeout=180, env=env,
        )  # fmt: skip
        yield address
    finally:
        if ray.is_initialized():
            ray.shutdown()
        procs = _ours(folder)
        for proc in procs:
            try:
                proc.kill()
            except psutil.NoSuchProcess:
                pass
        psutil.wait_procs(procs, timeout=30)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def flight(write_frame) -> list[Path]:
    return [
        write_frame(
            f"flight/f{i}.jpg",
            size=(2400, 1600),
            patches=((300 * i, 200, 300 * i + 500, 700),),
            seed=i,
        )  # fmt: skip
        for i in range(5)
    ]


def _same_outputs(a: Path, b: Path) -> None:
    for name in OUTPUTS:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    overlays = sorted(p.name for p in (a / "overlays").iterdir())
    assert overlays == sorted(p.name for p in (b / "overlays").iterdir()) and overlays
    for name in overlays:
        assert (a / "overlays" / name).read_bytes() == (b / "overlays" / name).read_bytes()
    for path in (a / "frames").iterdir():
        mine, theirs = (
            json.loads(path.read_text()),
            json.loads((b / "frames" / path.name).read_text()),
        )
        mine.pop("seconds"), theirs.pop("seconds")  # wall-clock: the one field that differs
        assert mine == theirs


def test_ray_scan_matches_the_local_scan_byte_for_byte_and_resumes(
    cluster: str, flight: list[Path], tiny_bundle: Path, tmp_path: Path
) -> None:
    local, spread = tmp_path / "local", tmp_path / "ray"
    scan_flight(flight, local, bundle=tiny_bundle, workers=1)
    seen: list[tuple[int, int, bool]] = []
    results = scan_flight(
        flight, spread, bundle=tiny_bundle, ray_address=cluster,
        progress=lambda done, total, result, resumed: seen.append((done, total, resumed)),
    )[0]  # fmt: skip
    assert [r.verdict for r in results] == ["suspected"] * 5
    assert [d for d, _, _ in seen] == [1, 2, 3, 4, 5]  # progress reported on the driver
    _same_outputs(local, spread)

    again = CliRunner().invoke(
        cli,
        ["scan", *map(str, flight), "--out", str(spread), "--model", str(tiny_bundle),
         "--ray", cluster, "-q"],
        catch_exceptions=False,
    )  # fmt: skip
    assert again.exit_code == 0, again.output
    assert json.loads((spread / "summary.json").read_text())["frames_resumed"] == 5
    _same_outputs(local, spread)


def test_a_worker_killed_mid_flight_re_runs_only_its_frame(
    cluster: str, flight: list[Path], tiny_bundle: Path, tmp_path: Path
) -> None:
    """SIGKILL the worker process running a frame task: that frame (and only frames in
    flight on it) goes to the cluster again; the flight's outputs are those of a local scan."""
    local, spread = tmp_path / "local", tmp_path / "ray"
    scan_flight(flight, local, bundle=tiny_bundle, workers=1)
    killed: list[int] = []
    stop = threading.Event()

    def killer() -> None:
        while not stop.is_set() and not killed:
            for proc in psutil.process_iter(["cmdline"]):
                try:
                    if (proc.info["cmdline"] or [""])[0].startswith("ray::scan_task"):
                        proc.send_signal(signal.SIGKILL)
                        killed.append(proc.pid)
                        return
                except (psutil.NoSuchProcess, psutil.AccessDenied, IndexError):
                    continue
            time.sleep(0.005)

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    Layout(spread).make()
    recorded = []
    try:
        lost = scan_on_ray(
            [str(p) for p in flight], Layout(spread), address=cluster, bundle=str(tiny_bundle),
            options=ScanOptions(), record=lambda result, resumed: recorded.append(result),
        )  # fmt: skip
    finally:
        stop.set()
        thread.join()
    assert killed, "no frame task was seen running"
    assert 1 <= sum(lost.values()) <= 2 and max(lost.values()) == 1  # retried once, not more
    assert len(recorded) == 5 and all(r.verdict == "suspected" for r in recorded)
    from plantscout.drone.exports import write_all

    order = {str(p): i for i, p in enumerate(flight)}
    write_all(sorted(recorded, key=lambda r: order[r.file]), spread)  # as scan_flight does
    _same_outputs(local, spread)
