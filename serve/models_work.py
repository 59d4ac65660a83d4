"""The shared work queue: background jobs claimed by any process on one database (issue 16).

One row per job to run (today: scan jobs, ``kind = "scan_job"``). A process claims the oldest
waiting row with ``SELECT … FOR UPDATE SKIP LOCKED`` (``serve/work.py``), so two claimers
never take the same row and never wait for each other, and holds it under a *lease* it
renews while it works: a process that dies stops renewing, and once ``lease_expires_at``
has passed the row may be claimed again. Times compare against the database's own clock,
so machines with skewed clocks agree on when a lease ran out.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base, JsonType, UTCDateTime, utcnow

WORK_STATES = ("queued", "running", "done", "failed", "cancelled")


class WorkItem(Base):
    """A background job and who holds it."""

    __tablename__ = "work_queue"
    __table_args__ = (Index("ix_work_queue_kind_state", "kind", "state", "created_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # the job's own id
    kind: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16), default="queued")
    payload: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # claims so far
    lease_owner: Mapped[str | None] = mapped_column(String(200))  # host:pid:role of the holder
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
