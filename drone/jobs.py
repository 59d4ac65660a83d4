"""Batch scan jobs for a central server: submit frames, poll progress, fetch the outputs.

A field laptop without Python uploads a flight; the server scans it in the background with
the same code as ``plantscout scan`` and keeps the same outputs. Everything a job has lives in
its folder (``input/`` frames, ``out/`` results, ``job.json`` status, written atomically), so
a restarted server picks unfinished jobs up again, and frames already scanned are skipped
(results are stored per frame as the scan goes). The service only wires HTTP to this class.

The bundle is asked for when each job starts (``bundle`` may be a function), so a service that
swaps its model hands the new one to the next job, while every frame of one job is scored by
one bundle. :meth:`ScanJobs.stop` parks a running job after its current frame (queued again,
frames done kept), so a server shutting down loses no work and rescans nothing.

Every change to a job's state (frames added, started, cancelled) is a read-modify-write of
``job.json`` under the job's lock (``job.lock``, an exclusive ``flock``), which holds between
threads and between processes sharing the folder: two uploads to one held job never number
their frames alike nor overwrite each other's count. Frames are first streamed into
``staging/`` without the lock, so a slow upload does not hold up the others; only the renames
into ``input/`` and the count happen under it.
"""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from plantscout.drone.runner import collect_frames, scan_flight
from plantscout.drone.scan import FrameResult, ScanOptions

try:  # POSIX: a lock on a file holds across processes that share the jobs folder
    import fcntl
except ImportError:  # pragma: no cover - Windows: one process per jobs folder
    fcntl = None  # type: ignore[assignment]

OUTPUTS = ("detections.csv", "detections.geojson", "detections.kml", "summary.json", "summary.txt")
STATES = ("open", "queued", "running", "done", "failed", "cancelled")  # open: taking frames
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
_JOB_ID = re.compile(r"^[0-9a-f]{32}$")

BundlePath = str | os.PathLike[str] | None  # None: plantscout.model.load_bundle's default
BundleSource = BundlePath | Callable[[], BundlePath]


@dataclass
class JobStatus:
    id: str
    state: str = "queued"
    created_at: str = ""
    started_at: str | None = None
    finished_at: str | None = None
    frames_total: int = 0
    frames_done: int = 0
    frames_resumed: int = 0
    frames_per_second: float | None = None
    eta_s: float | None = None
    options: dict[str, Any] = field(default_factory=dict)
    owner: dict[str, Any] = field(default_factory=dict)  # who submitted (unit, key name)
    summary: dict[str, Any] | None = None
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JobStatus:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)

    @property
    def finished(self) -> bool:
        return self.state in ("done", "failed", "cancelled")


class JobNotFound(KeyError):
    pass


class JobStateError(ValueError):
    """The job is not in a state that allows this (e.g. adding frames to a running job)."""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class ScanJobs:
    """A queue of scan jobs run one at a time by a background thread."""

    def __init__(
        self,
        root: Path,
        bundle: BundleSource,
        *,
        workers: int = 1,
        threads: int | None = None,
        start: bool = True,
    ) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.bundle = bundle
        self.workers = workers
        self.threads = threads
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._lock = threading.Lock()
        self._thread_locks: dict[str, threading.Lock] = {}
        self._thread_locks_guard = threading.Lock()
        self._cancel: set[str] = set()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        for status in self.list():  # a restart: unfinished jobs go back on the queue
            if status.state in ("queued", "running"):
                status.state = "queued"
                self._write(status)
                self._queue.put(status.id)
        if start:
            self.start()

    # -- submitting ------------------------------------------------------------------------
    def submit(
        self,
        files: Iterable[tuple[str, BinaryIO | bytes]],
        options: ScanOptions = ScanOptions(),
        *,
        owner: dict[str, Any] | None = None,
        max_bytes_per_file: int | None = None,
        hold: bool = False,
        check: Callable[[list[tuple[Path, str]]], None] | None = None,
    ) -> JobStatus:
        """Store the frames (streamed to disk) and queue the job.

        ``hold=True`` keeps the job open for :meth:`add_frames` (a flight is larger than one
        request may be) until :meth:`start_job`.
        """
        job_id = uuid.uuid4().hex
        (self.root / job_id / "input").mkdir(parents=True)
        status = JobStatus(
            id=job_id,
            state="open",
            created_at=_now(),
            options=options.as_dict(),
            owner=dict(owner or {}),
        )
        try:
            self._write(status)
            status = self.add_frames(
                job_id, files, max_bytes_per_file=max_bytes_per_file, check=check
            )
        except Exception:
            shutil.rmtree(self.root / job_id, ignore_errors=True)
            raise
        if not hold:
            return self.start_job(job_id)
        return status

    def add_frames(
        self,
        job_id: str,
        files: Iterable[tuple[str, BinaryIO | bytes]],
        *,
        max_bytes_per_file: int | None = None,
        check: Callable[[list[tuple[Path, str]]], None] | None = None,
    ) -> JobStatus:
        """Add frames to an open job. ``check([(path, name), …])`` may refuse the staged
        frames (raise) before they join the job; a refused upload leaves the job as it was."""
        if self.status(job_id).state != "open":  # fail fast, before reading the upload
            raise JobStateError(
                f"job {job_id} is {self.status(job_id).state}: frames can no longer be added"
            )
        with self._staged(job_id, files, max_bytes_per_file) as staged:
            if check is not None:
                check(staged)
            with self._locked(job_id):
                status = self.status(job_id)
                if status.state != "open":
                    raise JobStateError(
                        f"job {job_id} is {status.state}: frames can no longer be added"
                    )
                inputs = self._folder(job_id) / "input"
                for index, (path, name) in enumerate(staged, start=status.frames_total):
                    os.replace(path, inputs / f"{index:05d}-{name}")
                status.frames_total += len(staged)
                self._write(status)
        return status

    def start_job(self, job_id: str) -> JobStatus:
        with self._locked(job_id):
            status = self.status(job_id)
            if status.state != "open":
                return status  # starting twice is harmless
            if status.frames_total == 0:
                raise JobStateError("a scan job needs at least one frame")
            status.state = "queued"
            self._write(status)
        self._queue.put(job_id)
        return status

    @contextmanager
    def _staged(
        self, job_id: str, files: Iterable[tuple[str, BinaryIO | bytes]], limit: int | None
    ) -> Iterator[list[tuple[Path, str]]]:
        """Stream every file into ``staging/`` (no lock held); remove what is left after."""
        staging = self._folder(job_id) / "staging"
        staging.mkdir(exist_ok=True)
        staged: list[tuple[Path, str]] = []
        try:
            for name, content in files:
                safe = _safe(name)
                fd, tmp = tempfile.mkstemp(dir=staging, prefix="frame-")
                os.close(fd)
                staged.append((Path(tmp), safe))
                _store(content, Path(tmp), limit, safe)
            yield staged
        finally:
            for path, _ in staged:
                path.unlink(missing_ok=True)  # gone already once renamed into input/

    @contextmanager
    def _locked(self, job_id: str) -> Iterator[None]:
        """The job's exclusive lock: between threads and (POSIX) between processes."""
        path = self._folder(job_id) / "job.lock"
        with self._thread_locks_guard:
            local = self._thread_locks.setdefault(job_id, threading.Lock())
        with local, open(path, "a+b") as handle:
            if fcntl is not None:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                if fcntl is not None:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    # -- reading -----------------------------------------------------------------------
    def status(self, job_id: str) -> JobStatus:
        path = self._status_path(job_id)
        try:
            return JobStatus.from_dict(json.loads(path.read_text("utf-8")))
        except (OSError, ValueError) as exc:
            raise JobNotFound(job_id) from exc

    def list(self) -> list[JobStatus]:
        statuses = []
        for folder in sorted(self.root.iterdir()) if self.root.is_dir() else []:
            if _JOB_ID.match(folder.name):
                try:
                    statuses.append(self.status(folder.name))
                except JobNotFound:
                    continue
        statuses.sort(key=lambda s: s.created_at, reverse=True)
        return statuses

    def output(self, job_id: str, name: str) -> Path:
        """Path of a finished job's output (``OUTPUTS``), an overlay PNG, or raise JobNotFound.

        A parked job has partial flight outputs on disk; they are not its outputs yet.
        """
        out = self._folder(job_id) / "out"
        if name in OUTPUTS:
            if not self.status(job_id).finished:
                raise JobNotFound(f"{job_id}/{name}")
            path = out / name
        elif name.startswith("overlays/") and _SAFE_NAME.sub("", name[9:]) == name[9:]:
            path = out / "overlays" / name[9:]
        else:
            raise JobNotFound(f"{job_id}/{name}")
        if not path.is_file():
            raise JobNotFound(f"{job_id}/{name}")
        return path

    def overlays(self, job_id: str) -> list[str]:
        folder = self._folder(job_id) / "out" / "overlays"
        return sorted(p.name for p in folder.glob("*.png")) if folder.is_dir() else []

    def results(self, job_id: str) -> list[FrameResult]:
        from plantscout.drone.scan import load_result

        frames = self._folder(job_id) / "out" / "frames"
        loaded = (load_result(p) for p in sorted(frames.glob("*.json")))
        return [r for r in loaded if r is not None]

    # -- control -------------------------------------------------------------------------
    def cancel(self, job_id: str) -> JobStatus:
        with self._locked(job_id):
            status = self.status(job_id)
            if not status.finished:
                with self._lock:
                    self._cancel.add(job_id)
                if status.state in ("open", "queued"):
                    status.state = "cancelled"
                    status.finished_at = _now()
                    self._write(status)
        return self.status(job_id)

    def start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._stopping.clear()
            self._thread = threading.Thread(target=self._loop, name="scan-jobs", daemon=True)
            self._thread.start()

    @property
    def stopping(self) -> bool:
        """True from :meth:`stop` on: the running job parks after its current frame."""
        return self._stopping.is_set()

    def stop(self, timeout: float | None = 30.0) -> None:
        """Stop the queue: the running job ends after its current frame and is parked.

        Parked and queued jobs stay ``queued`` on disk, so the next start resumes them.
        """
        self._stopping.set()
        if self._thread is not None and self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout)

    def wait(self, job_id: str, timeout: float = 300.0) -> JobStatus:
        """Block until the job finishes (tests, scripts)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.status(job_id)
            if status.finished:
                return status
            time.sleep(0.05)
        raise TimeoutError(f"scan job {job_id} still {self.status(job_id).state}")

    # -- the worker ----------------------------------------------------------------------
    def _loop(self) -> None:
        while True:
            job_id = self._queue.get()
            if job_id is None or self._stopping.is_set():
                return
            try:
                self._run(job_id)
            except Exception as exc:  # noqa: BLE001 - one bad job must not stop the queue
                try:
                    status = self.status(job_id)
                    error = _without_paths(f"{exc.__class__.__name__}: {exc}", self.root)
                    status.state, status.error, status.finished_at = "failed", error, _now()
                    self._write(status)
                except JobNotFound:
                    pass

    def _run(self, job_id: str) -> None:
        with self._locked(job_id):
            status = self.status(job_id)
            if status.finished:
                return
            with self._lock:
                if job_id in self._cancel:
                    return
            status.state, status.started_at = "running", _now()
            status.frames_done = status.frames_resumed = 0
            self._write(status)
        folder = self._folder(job_id)
        frames = collect_frames([folder / "input"])
        started = time.monotonic()

        def progress(done: int, total: int, result: FrameResult, resumed: bool) -> None:
            status.frames_done = done
            status.frames_resumed += int(resumed)
            elapsed = time.monotonic() - started
            if elapsed > 0 and done:
                status.frames_per_second = round(done / elapsed, 3)
                status.eta_s = round((total - done) * elapsed / done, 1)
            self._write(status)

        def cancelled() -> bool:
            with self._lock:
                return job_id in self._cancel

        def stop_now() -> bool:
            return cancelled() or self._stopping.is_set()

        options = ScanOptions(**status.options)
        scan_flight(
            frames,
            folder / "out",
            bundle=self.bundle() if callable(self.bundle) else self.bundle,
            options=options,
            workers=self.workers,
            threads=self.threads,
            progress=progress,
            cancelled=stop_now,
            names_from=folder / "input",  # frames by name: no server path in any output
        )
        if self._stopping.is_set() and not cancelled():
            status.state, status.eta_s = "queued", None  # parked: the next start resumes it
            self._write(status)
            return
        summary_path = folder / "out" / "summary.json"
        status.summary = json.loads(summary_path.read_text("utf-8"))
        status.finished_at = _now()
        status.eta_s = 0.0
        status.state = "cancelled" if cancelled() else "done"
        self._write(status)

    # -- files ---------------------------------------------------------------------------
    def _folder(self, job_id: str) -> Path:
        if not _JOB_ID.match(job_id):
            raise JobNotFound(job_id)
        folder = self.root / job_id
        if not folder.is_dir():
            raise JobNotFound(job_id)
        return folder

    def _status_path(self, job_id: str) -> Path:
        return self._folder(job_id) / "job.json"

    def _write(self, status: JobStatus) -> None:
        """Atomically: a reader sees the old or the new status, never half of one."""
        folder = self.root / status.id
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".job-", suffix=".json.tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(json.dumps(status.as_dict(), ensure_ascii=False, indent=1))
            os.replace(tmp, folder / "job.json")
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def _without_paths(message: str, root: Path) -> str:
    """A message for the job's owner: paths under the jobs folder become file names."""
    for base in {str(root), str(root.resolve())}:
        message = re.sub(re.escape(base) + r"[^\s'\"]*", lambda m: Path(m.group()).name, message)
    return message


def _safe(name: str) -> str:
    base = Path(name or "frame").name
    return _SAFE_NAME.sub("_", base)[-100:] or "frame"


def _store(content: BinaryIO | bytes, target: Path, limit: int | None, name: str) -> None:
    written = 0
    with open(target, "wb") as handle:
        if isinstance(content, bytes | bytearray):
            if limit is not None and len(content) > limit:
                raise ValueError(f"{name} is larger than {limit:,} bytes")
            handle.write(content)
            return
        while chunk := content.read(1 << 20):
            written += len(chunk)
            if limit is not None and written > limit:
                raise ValueError(f"{name} is larger than {limit:,} bytes")
            handle.write(chunk)
