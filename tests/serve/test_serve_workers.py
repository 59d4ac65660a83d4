"""Scan jobs across processes (issue 16, item 4): two service processes and two
``plantscout worker`` processes on one PostgreSQL server, one of the workers killed mid-job.

Every process here is a real ``plantscout`` process started from the command line, sharing
the database and the data folder, as on an office's machines. PostgreSQL only: SQLite keeps
the in-process queue (the other scan-job tests cover it). Worth its ~1 minute: it is the
only test of the claim / lease / take-over path between processes.
"""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import fresh_database
from PIL import Image

from plantscout.serve.db import Database
from plantscout.serve.work import DbQueue

PLANTSCOUT = str(Path(sys.executable).with_name("plantscout"))


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _frame(seed: int) -> bytes:
    image = Image.new("RGB", (1600, 1200), (128, 128, 128))
    if seed % 2 == 0:
        image.paste((40, 200, 40), (300, 300, 700, 700))
    image.putpixel((seed, 0), (0, 0, 0))  # distinct files
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def _until(condition, timeout: float, what: str):  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def pg_url(tmp_path: Path, postgres_url: str | None) -> Iterator[str]:
    yield from fresh_database("postgresql", tmp_path, postgres_url)


def test_two_services_two_workers_and_a_killed_worker(
    pg_url: str, tmp_path: Path, tiny_bundle: Path
) -> None:
    env = {
        **os.environ,
        "PLANTSCOUT_DATABASE_URL": pg_url,
        "PLANTSCOUT_DATA_DIR": str(tmp_path / "var"),  # shared: photos, scan jobs
        "PLANTSCOUT_MODEL_PATH": str(tiny_bundle),
        "PLANTSCOUT_REGISTRY": str(tmp_path / "registry"),
        "PLANTSCOUT_SCAN_JOBS_IN_SERVICE": "false",  # jobs run in the workers only
        "PLANTSCOUT_JOB_LEASE_S": "3",
        "PLANTSCOUT_MODEL_WATCH_S": "0",
        "PLANTSCOUT_MODEL_THREADS": "1",
        "PLANTSCOUT_SWEEP_INTERVAL_S": "0",
        "PLANTSCOUT_LOG_LEVEL": "WARNING",
    }
    run = dict(env=env, capture_output=True, text=True, timeout=120, check=True)
    subprocess.run([PLANTSCOUT, "db", "upgrade"], **run)  # once, before anyone starts
    made = subprocess.run(
        [PLANTSCOUT, "keys", "create", "--role", "inspector", "--unit", "u1"], **run
    )
    key = next(w for w in made.stdout.split() if w.startswith("psk_"))
    headers = {"Authorization": f"Bearer {key}"}

    procs: dict[str, subprocess.Popen] = {}
    ports = [_port(), _port()]
    logs = tmp_path / "logs"
    logs.mkdir()

    def start(name: str, *args: str) -> None:
        out = open(logs / f"{name}.log", "w")  # noqa: SIM115 - closed with the process
        procs[name] = subprocess.Popen(
            [PLANTSCOUT, *args], env=env, stdout=out, stderr=subprocess.STDOUT
        )

    db = Database.connect(pg_url)
    try:
        for i, port in enumerate(ports):
            start(f"service{i}", "serve", "--port", str(port))
        start("worker0", "worker", "--threads", "1")
        start("worker1", "worker", "--threads", "1")
        urls = [f"http://127.0.0.1:{p}" for p in ports]
        for url in urls:
            _until(lambda url=url: _ready(url), 120, f"{url} ready")

        jobs = []
        for n, url in enumerate([urls[0], urls[1], urls[0]]):
            files = [
                ("frames", (f"j{n}f{i}.jpg", _frame(100 * n + i), "image/jpeg")) for i in range(10)
            ]
            response = httpx.post(f"{url}/v1/scan-jobs", files=files, headers=headers, timeout=60)
            assert response.status_code == 202, response.text
            jobs.append(response.json()["id"])

        queue = DbQueue(db, owner="test", lease_s=3)
        victim = procs["worker0"].pid

        def victim_mid_job() -> str | None:
            dead = [n for n, p in procs.items() if p.poll() is not None]
            assert not dead, f"{dead} exited: {(logs / f'{dead[0]}.log').read_text()[-2000:]}"
            for row in queue.rows():
                if row.state == "running" and f":{victim}:" in (row.lease_owner or ""):
                    status = json.loads(
                        (tmp_path / "var" / "scan-jobs" / row.id / "job.json").read_text()
                    )
                    if status["frames_done"] >= 2:
                        return row.id
            return None

        killed_job = _until(victim_mid_job, 180, "worker0 mid-job")
        procs["worker0"].send_signal(signal.SIGKILL)
        procs["worker0"].wait(timeout=30)

        def all_done() -> list[dict] | None:
            states = [
                httpx.get(f"{urls[1]}/v1/scan-jobs/{j}", headers=headers, timeout=30).json()
                for j in jobs
            ]
            return states if all(s["state"] == "done" for s in states) else None

        finished = _until(all_done, 240, "every job done")
        for status in finished:
            assert status["frames_done"] == 10 and status["summary"]["frames"] == 10
            assert status["summary"]["frames_with_suspected_regions"] == 5
        rows = {row.id: row for row in queue.rows()}
        survivor = procs["worker1"].pid
        assert rows[killed_job].attempts == 2  # claimed by the victim, then taken over
        assert f":{survivor}:" in rows[killed_job].lease_owner
        resumed = next(s for s in finished if s["id"] == killed_job)["frames_resumed"]
        assert resumed >= 2  # what the killed worker had stored was not scanned again
        assert all(row.state == "done" for row in rows.values())
        # Both services see every job (one database, one data folder).
        for url in urls:
            listed = httpx.get(f"{url}/v1/scan-jobs", headers=headers, timeout=30).json()
            assert {item["id"] for item in listed["items"]} == set(jobs)
        # A worker asked to stop (SIGTERM) exits cleanly.
        procs["worker1"].send_signal(signal.SIGTERM)
        assert procs["worker1"].wait(timeout=60) == 0
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
        db.dispose()


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False
