"""Batch scan jobs: queue, progress, outputs, cancel, and pick-up after a restart."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from plantscout.drone.jobs import OUTPUTS, JobNotFound, JobStateError, ScanJobs
from plantscout.drone.scan import ScanOptions


def _frames(make_drone_jpeg, n: int = 3) -> list[tuple[str, bytes]]:
    return [
        (
            f"DJI_{i:04d}.JPG",
            make_drone_jpeg(patches=((560, 160, 840, 440),) if i % 2 == 0 else (), seed=i),
        )
        for i in range(n)
    ]


def test_job_runs_to_the_same_outputs_as_the_cli(
    tmp_path: Path, tiny_bundle: Path, make_drone_jpeg
) -> None:
    jobs = ScanJobs(tmp_path / "jobs", tiny_bundle)
    try:
        status = jobs.submit(_frames(make_drone_jpeg), ScanOptions(), owner={"unit": "u1"})
        assert status.state == "queued" and status.frames_total == 3
        done = jobs.wait(status.id, timeout=120)
        assert done.state == "done" and done.frames_done == 3
        assert done.summary and done.summary["frames_with_suspected_regions"] == 2
        for name in OUTPUTS:
            assert jobs.output(status.id, name).is_file()
        assert len(jobs.overlays(status.id)) == 3
        geojson = json.loads(jobs.output(status.id, "detections.geojson").read_text())
        assert len(geojson["features"]) == 2
        assert [s.id for s in jobs.list()] == [status.id]
        with pytest.raises(JobNotFound):
            jobs.output(status.id, "../job.json")
        with pytest.raises(JobNotFound):
            jobs.status("not-a-job")
    finally:
        jobs.stop()


def test_held_job_takes_more_frames_then_starts(
    tmp_path: Path, tiny_bundle: Path, make_drone_jpeg
) -> None:
    jobs = ScanJobs(tmp_path / "jobs", tiny_bundle)
    try:
        frames = _frames(make_drone_jpeg, 2)
        status = jobs.submit(frames[:1], hold=True)
        assert status.state == "open"
        jobs.add_frames(status.id, frames[1:])
        assert jobs.start_job(status.id).state == "queued"
        assert jobs.wait(status.id).frames_done == 2
        with pytest.raises(JobStateError):
            jobs.add_frames(status.id, frames)
    finally:
        jobs.stop()


def test_oversized_frame_is_refused_and_nothing_is_kept(tmp_path: Path, tiny_bundle: Path) -> None:
    jobs = ScanJobs(tmp_path / "jobs", tiny_bundle, start=False)
    with pytest.raises(ValueError, match="larger than"):
        jobs.submit([("big.jpg", b"x" * 2000)], max_bytes_per_file=1000)
    assert jobs.list() == []


def test_a_restarted_server_finishes_queued_jobs(
    tmp_path: Path, tiny_bundle: Path, make_drone_jpeg
) -> None:
    first = ScanJobs(tmp_path / "jobs", tiny_bundle, start=False)  # dies before running it
    status = first.submit(_frames(make_drone_jpeg, 2))
    again = ScanJobs(tmp_path / "jobs", tiny_bundle)
    try:
        assert again.wait(status.id).state == "done"
    finally:
        again.stop()


def test_cancel_a_queued_job(tmp_path: Path, tiny_bundle: Path, make_drone_jpeg) -> None:
    jobs = ScanJobs(tmp_path / "jobs", tiny_bundle, start=False)
    status = jobs.submit(_frames(make_drone_jpeg, 1))
    assert jobs.cancel(status.id).state == "cancelled"
    jobs.start()
    jobs.stop()
    assert jobs.status(status.id).state == "cancelled"
