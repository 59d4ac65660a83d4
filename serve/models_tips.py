"""Tables for public tip-offs (issue 15): a tip, its photos. Kept apart from inspections.

A tip comes from someone without a key, so nothing in it is trusted and nothing in it names
the sender: no IP address, no account. What the sender keeps is a **code** (public, printed on
the status page) and a **secret** (only its salted scrypt hash is stored), which together show
the tip's progress and later claim a reward.

Triage is stored (``triage``: new → targeted / dismissed); the outcome is *derived* from the
survey target the tip was turned into (see ``services/tips/state.py``), so a ground check by a
patrol flows back to the tip without anyone copying it over.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .models import Base, JsonType, SeqType, UTCDateTime, utcnow


class Tip(Base):
    """One report from the public: photos (optional), where, what, optional contact."""

    __tablename__ = "tips"
    __table_args__ = (Index("ix_tips_lat_lon", "lat", "lon"),)

    seq: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True)  # the phone's id (idempotency)
    code: Mapped[str] = mapped_column(String(16), unique=True)  # shown to the sender
    secret_hash: Mapped[str] = mapped_column(String(200))  # scrypt$n$r$p$salt$hash
    fingerprint: Mapped[str] = mapped_column(String(64))  # over photos and text

    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    observed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    observed_at_source: Mapped[str] = mapped_column(String(16))

    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    location_source: Mapped[str] = mapped_column(String(16))
    photo_lat: Mapped[float | None] = mapped_column(Float)
    photo_lon: Mapped[float | None] = mapped_column(Float)

    place: Mapped[str | None] = mapped_column(Text)  # where, in the sender's words
    description: Mapped[str | None] = mapped_column(Text)  # what they saw
    contact: Mapped[str | None] = mapped_column(String(200))  # optional; reviewers only

    verdict: Mapped[str | None] = mapped_column(String(16), index=True)  # None: no photos
    combined: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    model_name: Mapped[str | None] = mapped_column(String(200))
    model_version: Mapped[str | None] = mapped_column(String(100))
    model_sha256: Mapped[str | None] = mapped_column(String(64))

    group_id: Mapped[str] = mapped_column(String(36), index=True)  # the group's first tip
    group_reason: Mapped[str | None] = mapped_column(String(16))  # photo | place | None

    triage: Mapped[str] = mapped_column(String(16), index=True, default="new")
    dismiss_reason: Mapped[str | None] = mapped_column(String(32))
    triage_note: Mapped[str | None] = mapped_column(Text)
    triaged_by: Mapped[str | None] = mapped_column(String(200))
    triaged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    target_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("targets.id", ondelete="RESTRICT"), index=True
    )

    reward_decision: Mapped[str | None] = mapped_column(String(16))  # eligible | not_eligible
    reward_amount: Mapped[int | None] = mapped_column(Integer)  # yuan
    reward_paid_on: Mapped[date | None] = mapped_column(Date)
    reward_note: Mapped[str | None] = mapped_column(Text)
    reward_decided_by: Mapped[str | None] = mapped_column(String(200))
    reward_decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    photos: Mapped[list[TipPhoto]] = relationship(
        back_populates="tip",
        order_by="TipPhoto.position",
        cascade="all, delete-orphan",
        lazy="selectin",
    )


class TipPhoto(Base):
    """A photo of a tip; the original is in the photo store under ``sha256``."""

    __tablename__ = "tip_photos"
    __table_args__ = (UniqueConstraint("tip_id", "position", name="uq_tip_photos_position"),)

    id: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    tip_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("tips.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    n_bytes: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(100))
    format: Mapped[str] = mapped_column(String(16))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    verdict: Mapped[str] = mapped_column(String(16))
    score: Mapped[dict[str, Any]] = mapped_column(JsonType)
    gps_lat: Mapped[float | None] = mapped_column(Float)
    gps_lon: Mapped[float | None] = mapped_column(Float)
    captured_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    tip: Mapped[Tip] = relationship(back_populates="photos")
