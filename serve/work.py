"""Background jobs claimed from a PostgreSQL table by any number of processes (issue 16).

:class:`DbQueue` is the :class:`plantscout.drone.jobs.JobQueue` the service uses on
PostgreSQL: ``put`` inserts a row into ``work_queue``; ``claim`` takes the oldest waiting row
(or a running one whose lease has run out) with ``FOR UPDATE SKIP LOCKED``, so any number of
service processes and ``plantscout worker`` processes, on any machines that share the
database and the data folder, take different jobs without waiting for each other. While a
job runs, a heartbeat thread renews its lease every third of ``lease_s`` and reads whether a
cancel was asked for. A process killed mid-job stops renewing; once the lease has run out,
the next claim hands the job to another process, which resumes it (frames already scanned
are stored, so only the rest are scanned). A process that finds its lease taken over stops
and writes nothing more.

SQLite has no ``SKIP LOCKED`` and is a single-machine database: there the service keeps the
in-process :class:`~plantscout.drone.jobs.LocalQueue`.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update

from .db import Database
from .models_work import WorkItem

log = logging.getLogger("plantscout.serve.work")

SCAN_JOB = "scan_job"


def process_name(role: str) -> str:
    """Who holds a lease: host, process id and role (``service`` or ``worker``)."""
    return f"{socket.gethostname()}:{os.getpid()}:{role}"


@dataclass
class DbClaim:
    """A job held under a lease; its heartbeat renews the lease until :meth:`end`."""

    job_id: str
    queue: DbQueue
    attempts: int
    _lost: threading.Event = field(default_factory=threading.Event)
    _cancel: threading.Event = field(default_factory=threading.Event)
    _done: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def lost(self) -> bool:
        return self._lost.is_set()

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._beat, name=f"lease-{self.job_id[:8]}", daemon=True
        )
        self._thread.start()

    def _beat(self) -> None:
        interval = max(0.2, self.queue.lease_s / 3)
        while not self._done.wait(interval):
            try:
                held, cancel = self.queue.renew(self.job_id)
            except Exception:  # noqa: BLE001 - a database hiccup: try again next beat
                log.warning("lease renewal failed", exc_info=True, extra={"job": self.job_id})
                continue
            if cancel:
                self._cancel.set()
            if not held:
                log.warning("lease lost to another process", extra={"job": self.job_id})
                self._lost.set()
                return

    def end(self) -> None:
        self._done.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)


class DbQueue:
    """The work queue on PostgreSQL (see the module docstring)."""

    shared = True

    def __init__(
        self,
        db: Database,
        *,
        owner: str,
        lease_s: float = 60.0,
        kind: str = SCAN_JOB,
        poll_s: float = 0.5,
    ) -> None:
        if db.backend != "postgresql":
            raise ValueError("the shared work queue needs PostgreSQL (FOR UPDATE SKIP LOCKED)")
        self.db = db
        self.owner = owner
        self.lease_s = lease_s
        self.kind = kind
        self.poll_s = poll_s
        self._wake = threading.Event()

    # -- the JobQueue protocol ---------------------------------------------------------------
    def put(self, job_id: str, payload: dict[str, Any] | None = None) -> None:
        """Queue a job (again): a new row, or a finished/parked one back to waiting."""
        with self.db.write() as session:
            row = session.get(WorkItem, job_id)
            if row is None:
                session.add(
                    WorkItem(id=job_id, kind=self.kind, state="queued", payload=payload or {})
                )
            elif row.state != "running":
                row.state, row.lease_owner, row.lease_expires_at = "queued", None, None
                row.updated_at = func.now()

    def claim(self, timeout: float) -> DbClaim | None:
        waited = 0.0
        while True:
            claim = self._claim_once()
            if claim is not None:
                return claim
            if waited >= timeout:
                return None
            step = min(self.poll_s, timeout - waited)
            if self._wake.wait(step):
                self._wake.clear()
                return None
            waited += step

    def cancel(self, job_id: str) -> bool:
        """Waiting: cancelled at once (True). Running: its holder is told on its next beat."""
        with self.db.write() as session:
            waiting = session.execute(
                update(WorkItem)
                .where(WorkItem.id == job_id, WorkItem.state == "queued")
                .values(state="cancelled", finished_at=func.now(), updated_at=func.now())
            ).rowcount
            session.execute(
                update(WorkItem)
                .where(WorkItem.id == job_id)
                .values(cancel_requested=True, updated_at=func.now())
            )
        return bool(waiting)

    def finish(self, claim: DbClaim, state: str) -> None:
        claim.end()
        with self.db.write() as session:
            session.execute(
                update(WorkItem)
                .where(WorkItem.id == claim.job_id, WorkItem.lease_owner == self.owner)
                .values(
                    state=state,
                    lease_expires_at=None,
                    finished_at=func.now(),
                    updated_at=func.now(),
                )
            )

    def release(self, claim: DbClaim) -> None:
        """Parked (a shutdown): waiting again at once, for any process."""
        claim.end()
        with self.db.write() as session:
            session.execute(
                update(WorkItem)
                .where(WorkItem.id == claim.job_id, WorkItem.lease_owner == self.owner)
                .values(
                    state="queued", lease_owner=None, lease_expires_at=None, updated_at=func.now()
                )
            )

    def wake(self) -> None:
        self._wake.set()

    # -- the lease ---------------------------------------------------------------------------
    def _claim_once(self) -> DbClaim | None:
        lease = timedelta(seconds=self.lease_s)
        with self.db.write() as session:
            row = session.scalars(
                select(WorkItem)
                .where(
                    WorkItem.kind == self.kind,
                    or_(
                        WorkItem.state == "queued",
                        and_(WorkItem.state == "running", WorkItem.lease_expires_at < func.now()),
                    ),
                )
                .order_by(WorkItem.created_at)
                .limit(1)
                .with_for_update(skip_locked=True)
            ).first()
            if row is None:
                return None
            if row.state == "running":
                log.warning(
                    "taking over a job whose lease ran out",
                    extra={"job": row.id, "previous": row.lease_owner},
                )
            row.state = "running"
            row.lease_owner = self.owner
            row.lease_expires_at = func.now() + lease
            row.attempts = (row.attempts or 0) + 1
            row.updated_at = func.now()
            claim = DbClaim(row.id, self, row.attempts + 0)
            if row.cancel_requested:
                claim._cancel.set()
        claim.start()
        return claim

    def renew(self, job_id: str) -> tuple[bool, bool]:
        """Extend the lease; (still ours, cancel asked for)."""
        with self.db.write() as session:
            renewed = session.execute(
                update(WorkItem)
                .where(
                    WorkItem.id == job_id,
                    WorkItem.lease_owner == self.owner,
                    WorkItem.state == "running",
                )
                .values(lease_expires_at=func.now() + timedelta(seconds=self.lease_s))
                .returning(WorkItem.cancel_requested)
            ).first()
        if renewed is None:
            return False, False
        return True, bool(renewed[0])

    def rows(self) -> list[WorkItem]:
        """Every row, oldest first (operators, tests)."""
        with self.db.read() as session:
            return list(session.scalars(select(WorkItem).order_by(WorkItem.created_at)))
