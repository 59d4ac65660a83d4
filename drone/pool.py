"""Worker processes for a local flight scan that survive a worker killed by the OS.

``multiprocessing.Pool`` hangs for ever when one of its workers dies (the OOM killer, a
segfault in a native decoder): the task it held is never answered. Here every worker has
its own pipe and holds **one frame at a time**, so the driver always knows which frame a
dead worker took with it. That frame is handed to a fresh worker once more (``retries``);
if it kills that one too it is reported as a failed frame (``worker_lost``) and the flight
goes on. A worker that cannot even start (a bundle that will not load) stops the scan with
its reason instead of being restarted for ever.
"""

from __future__ import annotations

import os
import signal
import traceback
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing import get_context
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from plantscout.drone.scan import FrameResult, ScanOptions, file_sha256

Record = Callable[[FrameResult, bool], None]
Dispatch = Callable[[str, int], None]  # (frame path, worker pid): a frame handed out


class WorkerStartError(RuntimeError):
    """A worker process could not load the bundle (or died before it was ready)."""


def _serve(conn: Connection, bundle: str | None, threads: int, options: ScanOptions, layout: Any):
    """Worker process: load the scorer once, then scan frame after frame until told to stop."""
    from plantscout.drone import runner

    try:
        from plantscout.model.scorer import Scorer

        scorer = Scorer(bundle, intra_op_threads=threads, batch_size=options.batch_size)
    except Exception:  # noqa: BLE001 - reported to the driver, which stops the scan
        conn.send(("init_error", traceback.format_exc(limit=3)))
        return
    conn.send(("ready", os.getpid()))
    while True:
        try:
            path = conn.recv()
        except EOFError:
            return
        if path is None:
            return
        result, resumed = runner.process_frame(Path(path), scorer, options, layout)
        conn.send(("done", result.as_dict(), resumed))


@dataclass
class _Worker:
    process: Any
    conn: Connection
    ready: bool = False
    frame: str | None = None
    frames_done: int = 0


def describe_exit(code: int | None) -> str:
    if code is None:
        return "still running"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        hint = " — killed, often by the kernel's out-of-memory killer" if -code == 9 else ""
        return f"{name}{hint}"
    return f"exit code {code}"


class FramePool:
    """``workers`` processes, each with its own scorer of ``threads`` ONNX threads."""

    def __init__(
        self,
        workers: int,
        *,
        bundle: str | None,
        threads: int,
        options: ScanOptions,
        layout: Any,  # plantscout.drone.runner.Layout: where results go, how frames are named
        retries: int = 1,
        max_frames_per_worker: int = 200,
        on_dispatch: Dispatch | None = None,
    ) -> None:
        self.size = max(1, workers)
        self.args = (bundle, threads, options, layout)
        self.layout = layout
        self.retries = retries
        self.max_frames = max_frames_per_worker
        self.on_dispatch = on_dispatch
        self.context = get_context("spawn")  # safe from threaded parents (the service)
        self.workers: list[_Worker] = []
        self.lost: Counter[str] = Counter()  # frame -> workers it took down

    def run(
        self,
        paths: Sequence[str],
        record: Record,
        cancelled: Callable[[], bool] | None = None,
    ) -> None:
        """Scan ``paths``; ``record(result, resumed)`` is called in the driver for each."""
        pending = deque(paths)
        try:
            while pending or any(w.frame is not None for w in self.workers):
                if cancelled and cancelled():
                    return
                while len(self.workers) < min(self.size, len(pending) + self._busy()):
                    self._spawn()
                for worker in self.workers:
                    if worker.ready and worker.frame is None and pending:
                        self._hand(worker, pending.popleft())
                self._step(pending, record)
        finally:
            self.close()

    def _busy(self) -> int:
        return sum(1 for w in self.workers if w.frame is not None)

    def _spawn(self) -> None:
        parent, child = self.context.Pipe()
        process = self.context.Process(target=_serve, args=(child, *self.args), daemon=True)
        process.start()
        child.close()
        self.workers.append(_Worker(process, parent))

    def _hand(self, worker: _Worker, path: str) -> None:
        worker.frame = path
        try:
            worker.conn.send(path)
        except OSError:
            pass  # a worker that died just now: its sentinel reports it and the frame returns
        if self.on_dispatch:
            self.on_dispatch(path, worker.process.pid)

    def _step(self, pending: deque[str], record: Record) -> None:
        handles: dict[Any, _Worker] = {}
        for worker in self.workers:
            handles[worker.conn] = worker
            handles[worker.process.sentinel] = worker
        for handle in wait(list(handles), timeout=1.0):
            worker = handles[handle]
            if worker not in self.workers:
                continue  # already handled through its other handle
            if handle is worker.conn:
                try:
                    message = worker.conn.recv()
                except (EOFError, OSError):
                    self._lost(worker, pending, record)
                    continue
                self._message(worker, message, record)
            elif not worker.conn.poll():
                self._lost(worker, pending, record)

    def _message(self, worker: _Worker, message: tuple[Any, ...], record: Record) -> None:
        kind = message[0]
        if kind == "init_error":
            raise WorkerStartError(f"a scan worker could not start:\n{message[1]}")
        if kind == "ready":
            worker.ready = True
            return
        _, data, resumed = message
        worker.frame = None
        worker.frames_done += 1
        record(FrameResult.from_dict(data) if "schema" in data else _error(data), resumed)
        if worker.frames_done >= self.max_frames:  # bound slow leaks in native libraries
            self._retire(worker)

    def _lost(self, worker: _Worker, pending: deque[str], record: Record) -> None:
        """A worker died: its frame goes to another worker once, then is reported failed."""
        worker.process.join(timeout=5)
        self.workers.remove(worker)
        worker.conn.close()
        why = describe_exit(worker.process.exitcode)
        if not worker.ready:
            raise WorkerStartError(f"a scan worker died before it was ready ({why})")
        frame = worker.frame
        if frame is None:
            return
        self.lost[frame] += 1
        if self.lost[frame] <= self.retries:
            pending.appendleft(frame)
            return
        record(lost_frame(frame, self.lost[frame], why, self.layout.label(Path(frame))), False)

    def _retire(self, worker: _Worker) -> None:
        try:
            worker.conn.send(None)
        except OSError:
            pass
        worker.process.join(timeout=10)
        if worker.process.is_alive():
            worker.process.kill()
            worker.process.join()
        self.workers.remove(worker)
        worker.conn.close()

    def close(self) -> None:
        for worker in list(self.workers):
            if worker.frame is None and worker.ready:
                self._retire(worker)
            else:  # busy (a cancel) or starting: no result is waited for
                worker.process.kill()
                worker.process.join()
                self.workers.remove(worker)
                worker.conn.close()


def lost_frame(path: str, times: int, why: str, label: str | None = None) -> FrameResult:
    """The result reported for a frame that took down its worker ``times`` times (named
    ``label`` in the outputs, default its path)."""
    try:
        sha = file_sha256(path)
    except OSError:
        sha = ""
    return FrameResult(
        file=label or path,
        sha256=sha,
        verdict="error",
        error={
            "code": "worker_lost",
            "message": f"the worker scanning this frame died {times} times (last: {why}); "
            "not retried again — rerun the scan to try it once more",
        },
    )


def _error(data: dict[str, Any]) -> FrameResult:
    return FrameResult(file=data.get("file", "?"), sha256=data.get("sha256", ""), verdict="error")
