"""Scan jobs finishing with a ``plantscout worker`` killed mid-job (issue 16, item 4).

    python benchmarks/drone_workers.py --database-url postgresql+psycopg://…/any_db \
        [--model DIR] [--jobs 3] [--frames 8] [--lease-s 5]

Two runs in one process, each on a fresh PostgreSQL database (created on the server of
``--database-url`` and dropped afterwards) with a fresh data folder: one service process that
leaves jobs to workers (``PLANTSCOUT_SCAN_JOBS_IN_SERVICE=false``) and two
``plantscout worker --threads 1`` processes, all started from the command line. ``--jobs``
scan jobs of ``--frames`` frames each are posted through the service's HTTP API.

* **baseline**: nothing is killed;
* **killed**: the first worker is SIGKILLed once it is running a job with at least two frames
  stored.

Reported per run: seconds from the first job posted to every job done, frames scanned in all
(from each job's summary: frames − frames resumed), the killed job's claims (attempts) and the
frames it resumed from the killed worker's stored results; then killed ÷ baseline seconds.
The extra time of the killed run is mostly the lease (``--lease-s``) plus the frame the
killed worker was in the middle of. Frames are the real hemp frames of the test split
(``drone_survey.frame_pool``), scanned at their own resolution. The load average is printed
at each step: on shared cores it says how much of them the processes had.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import drone_survey  # noqa: E402

PLANTSCOUT = str(Path(sys.executable).with_name("plantscout"))


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _until(condition, timeout: float, what: str):  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise TimeoutError(f"timed out waiting for {what}")


def _database(url: str) -> tuple[str, str]:
    """(URL of a new empty database on the same server, its name)."""
    import psycopg
    from sqlalchemy.engine import make_url

    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"psbench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return make_url(url).set(database=name).render_as_string(hide_password=False), dsn


def _drop(dsn: str, url: str) -> None:
    import psycopg
    from sqlalchemy.engine import make_url

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')


def run(args: argparse.Namespace, frames: list[Path], gsd_m: float, kill: bool) -> dict:
    from plantscout.serve.db import Database
    from plantscout.serve.work import DbQueue

    url, dsn = _database(args.database_url)
    folder = Path(tempfile.mkdtemp(prefix="psworkers-"))
    env = {
        **os.environ,
        "PLANTSCOUT_DATABASE_URL": url,
        "PLANTSCOUT_DATA_DIR": str(folder / "var"),
        "PLANTSCOUT_MODEL_PATH": str(args.model),
        "PLANTSCOUT_REGISTRY": str(folder / "registry"),
        "PLANTSCOUT_SCAN_JOBS_IN_SERVICE": "false",
        "PLANTSCOUT_JOB_LEASE_S": str(args.lease_s),
        "PLANTSCOUT_MODEL_WATCH_S": "0",
        "PLANTSCOUT_MODEL_THREADS": "1",
        "PLANTSCOUT_SWEEP_INTERVAL_S": "0",
        "PLANTSCOUT_LOG_LEVEL": "WARNING",
    }
    once = dict(env=env, capture_output=True, text=True, timeout=300, check=True)
    procs: dict[str, subprocess.Popen] = {}
    db = None
    try:
        subprocess.run([PLANTSCOUT, "db", "upgrade"], **once)
        made = subprocess.run(
            [PLANTSCOUT, "keys", "create", "--role", "inspector", "--unit", "u1"], **once
        )
        headers = {
            "Authorization": f"Bearer {next(w for w in made.stdout.split() if w.startswith('psk_'))}"
        }
        port = _port()
        for name, argv in (
            ("service", ["serve", "--port", str(port)]),
            ("worker0", ["worker", "--threads", "1"]),
            ("worker1", ["worker", "--threads", "1"]),
        ):
            log = open(folder / f"{name}.log", "w")  # noqa: SIM115 - closed with the process
            procs[name] = subprocess.Popen(
                [PLANTSCOUT, *argv], env=env, stdout=log, stderr=subprocess.STDOUT
            )
        base = f"http://127.0.0.1:{port}"
        _until(lambda: _ready(base), 300, "service ready")
        db = Database.connect(url)
        queue = DbQueue(db, owner="bench", lease_s=args.lease_s)

        start = time.perf_counter()
        jobs = []
        for j in range(args.jobs):
            files = [
                ("frames", (f"j{j}-{p.name}", p.read_bytes(), "image/jpeg"))
                for p in frames[: args.frames]
            ]
            response = httpx.post(
                f"{base}/v1/scan-jobs",
                files=files,
                data={"gsd_cm": str(gsd_m * 100)},
                headers=headers,
                timeout=120,
            )
            response.raise_for_status()
            jobs.append(response.json()["id"])

        killed_job = None
        if kill:
            victim = procs["worker0"].pid

            def mid_job() -> str | None:
                for row in queue.rows():
                    if row.state == "running" and f":{victim}:" in (row.lease_owner or ""):
                        status = json.loads(
                            (folder / "var" / "scan-jobs" / row.id / "job.json").read_text()
                        )
                        if status["frames_done"] >= 2:
                            return row.id
                return None

            killed_job = _until(mid_job, 900, "worker0 mid-job")
            procs["worker0"].send_signal(signal.SIGKILL)
            procs["worker0"].wait(timeout=60)
            print(f"  killed worker0 (pid {victim}) in job {killed_job}; load {_load()}")

        def all_done() -> list[dict] | None:
            states = [
                httpx.get(f"{base}/v1/scan-jobs/{j}", headers=headers, timeout=60).json()
                for j in jobs
            ]
            if any(s["state"] in ("failed", "cancelled") for s in states):
                raise RuntimeError(f"a job ended {[s['state'] for s in states]}")
            return states if all(s["state"] == "done" for s in states) else None

        finished = _until(all_done, 1800, "every job done")
        seconds = time.perf_counter() - start
        rows = {row.id: row for row in queue.rows()}
        out = {
            "kill": kill,
            "seconds": round(seconds, 1),
            "jobs_done": sum(s["state"] == "done" for s in finished),
            "jobs": len(jobs),
            "frames": sum(s["summary"]["frames"] for s in finished),
            "frames_scanned": sum(s["summary"]["frames"] - s["frames_resumed"] for s in finished),
            "suspected_frames": sum(
                s["summary"]["frames_with_suspected_regions"] for s in finished
            ),
            "load": _load(),
        }
        if killed_job:
            status = next(s for s in finished if s["id"] == killed_job)
            out["killed_job_attempts"] = rows[killed_job].attempts
            out["killed_job_frames_resumed"] = status["frames_resumed"]
        return out
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    proc.kill()
        if db is not None:
            db.dispose()
        _drop(dsn, url)
        shutil.rmtree(folder, ignore_errors=True)


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url", default=os.environ.get("PLANTSCOUT_TEST_POSTGRES_URL"), required=False
    )
    parser.add_argument("--model", type=Path, default=None, help="default: the released bundle")
    parser.add_argument("--jobs", type=int, default=3)
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--lease-s", type=float, default=5.0)
    args = parser.parse_args()
    if not args.database_url:
        parser.error("--database-url (PostgreSQL) is required")
    from plantscout.model.lifecycle.resolve import resolve_bundle

    args.model = resolve_bundle(args.model).path
    pool = drone_survey.frame_pool("test")
    frames = list(pool.hemp)
    while len(frames) < args.frames:  # the test block is short: mirrored copies make up the rest
        frames += [_mirrored(p) for p in pool.hemp]
    print(
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {platform.node()}; "
        f"{os.cpu_count()} cores; bundle {args.model}; {args.jobs} jobs × {args.frames} frames "
        f"(real hemp frames, {pool.hemp_gsd_m * 100:g} cm/px); lease {args.lease_s:g} s; "
        f"load {_load()}",
        flush=True,
    )
    results = []
    for kill in (False, True):
        results.append(run(args, frames, pool.hemp_gsd_m, kill))
        print(json.dumps(results[-1]), flush=True)
    base, killed = results
    print("\n| run | jobs done | seconds | frames scanned / frames | ÷ baseline |")
    print("| --- | --- | --- | --- | --- |")
    for r in results:
        print(
            f"| {'one worker SIGKILLed' if r['kill'] else 'baseline'} | {r['jobs_done']}/"
            f"{r['jobs']} | {r['seconds']:.1f} | {r['frames_scanned']} / {r['frames']} | "
            f"×{r['seconds'] / base['seconds']:.2f} |"
        )
    print(
        f"\nkilled job: claimed {killed.get('killed_job_attempts')} times, resumed "
        f"{killed.get('killed_job_frames_resumed')} frames the killed worker had stored; "
        f"suspected frames baseline {base['suspected_frames']}, killed {killed['suspected_frames']}"
    )


_TMP: list[Path] = []


def _mirrored(path: Path) -> Path:
    from PIL import Image, ImageOps

    folder = Path(tempfile.mkdtemp(prefix="psmirror-"))
    _TMP.append(folder)
    out = folder / f"m-{path.name}"
    ImageOps.mirror(Image.open(path)).save(out, quality=92)
    return out


if __name__ == "__main__":
    try:
        main()
    finally:
        for folder in _TMP:
            shutil.rmtree(folder, ignore_errors=True)
