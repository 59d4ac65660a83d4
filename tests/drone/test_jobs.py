"""Batch scan jobs: queue, progress, outputs, cancel, and pick-up after a restart."""

from __future__ import annotations

import json
import time
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


def _until(condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_stop_parks_the_running_job_and_the_next_start_resumes_it(
    tmp_path: Path, tiny_bundle: Path, make_drone_jpeg, monkeypatch
) -> None:
    """A shutdown mid-job: the job stops after its current frame, stays queued with its frames
    kept, shows no half-made outputs, and the next start scans only the frames left."""
    from plantscout.drone import runner

    jobs = ScanJobs(tmp_path / "jobs", tiny_bundle)
    scan_one = runner.process_frame
    calls: list[str] = []

    def second_frame_waits_for_stop(path, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003
        calls.append(path.name)
        if len(calls) == 2:  # the shutdown arrives while frame 2 is being scanned
            _until(lambda: jobs.stopping)
        return scan_one(path, *args, **kwargs)

    monkeypatch.setattr(runner, "process_frame", second_frame_waits_for_stop)
    status = jobs.submit(_frames(make_drone_jpeg, 4))
    _until(lambda: len(calls) == 2)
    jobs.stop()
    parked = jobs.status(status.id)
    assert (parked.state, parked.frames_done, len(calls)) == ("queued", 2, 2)
    with pytest.raises(JobNotFound):
        jobs.output(status.id, "summary.json")  # not finished: no outputs yet

    monkeypatch.setattr(runner, "process_frame", scan_one)
    again = ScanJobs(tmp_path / "jobs", tiny_bundle)
    try:
        done = again.wait(status.id)
        assert (done.state, done.frames_done, done.frames_resumed) == ("done", 4, 2)
        assert json.loads(again.output(status.id, "summary.json").read_text())["frames"] == 4
    finally:
        again.stop()


def test_the_bundle_is_asked_for_when_each_job_starts(
    tmp_path: Path, tiny_bundle: Path, make_drone_jpeg
) -> None:
    """A service passes a function: a model swapped between two jobs reaches the second."""
    from plantscout.model.testing import build_tiny_bundle

    other = build_tiny_bundle(tmp_path / "other", name="other", version="2.0.0", input_size=48)
    current = [tiny_bundle]
    jobs = ScanJobs(tmp_path / "jobs", lambda: current[0])
    try:
        first = jobs.wait(jobs.submit(_frames(make_drone_jpeg, 1)).id)
        current[0] = other
        second = jobs.wait(jobs.submit(_frames(make_drone_jpeg, 1)).id)
    finally:
        jobs.stop()
    assert [m["name"] for m in first.summary["models"]] == ["tiny-test"]
    assert [m["name"] for m in second.summary["models"]] == ["other"]


ADDER = """
import sys, threading
from pathlib import Path
from plantscout.drone.jobs import ScanJobs

root, job_id, tag, threads, each = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
jobs = ScanJobs(Path(root), None, start=False)
acknowledged = []

def add(t):
    for i in range(each):
        name = f"{tag}-{t}-{i}.jpg"
        jobs.add_frames(job_id, [(name, name.encode() * 50)])
        acknowledged.append(name)

workers = [threading.Thread(target=add, args=(t,)) for t in range(threads)]
for w in workers: w.start()
for w in workers: w.join()
print("\\n".join(acknowledged))
"""


def test_parallel_adds_from_two_processes_keep_every_acknowledged_frame(tmp_path: Path) -> None:
    """Two server processes sharing the jobs folder, four request threads each: every frame
    an add acknowledged is in the job, under its own number, and the count is exact."""
    import subprocess
    import sys

    jobs = ScanJobs(tmp_path / "jobs", None, start=False)
    job = jobs.submit([("first.jpg", b"first")], hold=True)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", ADDER, str(tmp_path / "jobs"), job.id, tag, "4", "6"],
            stdout=subprocess.PIPE,
            text=True,
        )
        for tag in ("a", "b")
    ]
    acknowledged = {"first.jpg"}
    for proc in procs:
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0
        acknowledged |= set(out.split())
    assert len(acknowledged) == 1 + 2 * 4 * 6
    status = jobs.status(job.id)
    assert status.frames_total == len(acknowledged)
    stored = sorted((tmp_path / "jobs" / job.id / "input").iterdir())
    assert [p.name[:5] for p in stored] == [f"{i:05d}" for i in range(len(acknowledged))]
    names = {p.name[6:] for p in stored}
    assert names == acknowledged
    for path in stored:  # each file holds its own frame, not another upload's bytes
        assert path.read_bytes() in (b"first", path.name[6:].encode() * 50)
