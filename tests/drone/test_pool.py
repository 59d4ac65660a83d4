"""The local scan pool survives a worker killed by the OS (issue 16, item 5).

``multiprocessing.Pool`` waited for ever for the answer of a worker killed with SIGKILL (what
the kernel's out-of-memory killer sends). The workers here are killed for real, with
SIGKILL, the moment a chosen frame is handed to them.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from plantscout.drone.pool import FramePool, WorkerStartError
from plantscout.drone.runner import Layout
from plantscout.drone.scan import FrameResult, ScanOptions


def _frames(write_frame, count: int) -> list[str]:  # noqa: ANN001
    return [
        str(write_frame(f"flight/f{i}.jpg", size=(600, 400), patches=((0, 0, 200, 200),), seed=i))
        for i in range(count)
    ]


def test_a_killed_worker_costs_only_its_frame_retried_once_then_failed(
    write_frame, tiny_bundle: Path, tmp_path: Path
) -> None:
    paths = _frames(write_frame, 5)
    unlucky, doomed = paths[1], paths[3]  # killed once / killed every time it is handed out
    handed: list[str] = []

    def kill(path: str, pid: int) -> None:
        handed.append(path)
        if path == doomed or (path == unlucky and handed.count(path) == 1):
            os.kill(pid, signal.SIGKILL)

    results: dict[str, FrameResult] = {}
    out = tmp_path / "out"
    Layout(out).make()
    pool = FramePool(
        2,
        bundle=str(tiny_bundle),
        threads=1,
        options=ScanOptions(),
        layout=Layout(out),
        on_dispatch=kill,
    )
    pool.run(paths, lambda result, resumed: results.__setitem__(result.file, result))

    assert sorted(results) == sorted(paths)  # every frame answered: nothing hangs
    assert results[doomed].verdict == "error"
    assert results[doomed].error["code"] == "worker_lost"
    assert "SIGKILL" in results[doomed].error["message"]
    assert results[unlucky].verdict == "suspected"  # its retry on a fresh worker scanned it
    assert all(results[p].verdict == "suspected" for p in paths if p != doomed)
    assert handed.count(doomed) == 2 and handed.count(unlucky) == 2  # retried once each
    assert all(handed.count(p) == 1 for p in paths if p not in (doomed, unlucky))
    assert len(list((out / "frames").glob("*.json"))) == 4  # a failed frame stores nothing
    assert not pool.workers  # every worker process is gone


def test_a_worker_that_cannot_start_stops_the_scan_with_its_reason(
    write_frame, tmp_path: Path
) -> None:
    broken = tmp_path / "bundle"
    broken.mkdir()
    (broken / "card.json").write_text("{}")
    pool = FramePool(
        2, bundle=str(broken), threads=1, options=ScanOptions(), layout=Layout(tmp_path / "out")
    )
    with pytest.raises(WorkerStartError, match="could not start"):
        pool.run(_frames(write_frame, 2), lambda result, resumed: None)
    assert not pool.workers
