"""SQLAlchemy 2 ORM tables. API shapes live in ``schemas/``; these are storage only.

Rows carry both an integer ``seq`` (insertion order: the cursor for pagination) and a string
``id`` (a UUID, which the field app may generate offline so that a re-sent inspection is
recognised instead of filed twice). Changes to the schema go through an Alembic migration in
``migrations/versions``; a test compares the two.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JsonType = JSON().with_variant(JSONB(), "postgresql")
# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit sequence.
SeqType = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC, returns timezone-aware UTC on both backends (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous; pass an aware datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class ApiKey(Base):
    """An API key. Only a hash of the secret is kept; the key itself is shown once."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    unit: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Target(Base):
    """A suspected spot from a survey or a tip-off, identified by (issuer, issuer_id)."""

    __tablename__ = "targets"
    __table_args__ = (
        UniqueConstraint("issuer", "issuer_id", name="uq_targets_issuer_issuer_id"),
        Index("ix_targets_lat_lon", "lat", "lon"),
    )

    seq: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True)
    issuer: Mapped[str] = mapped_column(String(100))
    issuer_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str | None] = mapped_column(String(300))
    notes: Mapped[str | None] = mapped_column(Text)
    geometry: Mapped[dict[str, Any]] = mapped_column(JsonType)
    lat: Mapped[float] = mapped_column(Float)  # representative point (centroid)
    lon: Mapped[float] = mapped_column(Float)
    min_lat: Mapped[float] = mapped_column(Float)
    min_lon: Mapped[float] = mapped_column(Float)
    max_lat: Mapped[float] = mapped_column(Float)
    max_lon: Mapped[float] = mapped_column(Float)
    issued_on: Mapped[date | None] = mapped_column(Date)
    due_on: Mapped[date | None] = mapped_column(Date)
    unit: Mapped[str | None] = mapped_column(String(100), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True, default="open")
    properties: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    content_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Inspection(Base):
    """One visit to one plant or plot: photos, scores, location, review and eradication."""

    __tablename__ = "inspections"
    __table_args__ = (Index("ix_inspections_lat_lon", "lat", "lon"),)

    seq: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True)
    fingerprint: Mapped[str] = mapped_column(String(64))  # sha256 over the photos' sha256s
    inspector: Mapped[str] = mapped_column(String(100))
    unit: Mapped[str] = mapped_column(String(100), index=True)
    site_type: Mapped[str] = mapped_column(String(32))
    notes: Mapped[str | None] = mapped_column(Text)

    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    location_source: Mapped[str] = mapped_column(String(16))
    device_lat: Mapped[float | None] = mapped_column(Float)
    device_lon: Mapped[float | None] = mapped_column(Float)
    device_accuracy_m: Mapped[float | None] = mapped_column(Float)
    photo_lat: Mapped[float | None] = mapped_column(Float)
    photo_lon: Mapped[float | None] = mapped_column(Float)
    location_disagreement_m: Mapped[float | None] = mapped_column(Float)
    location_conflict: Mapped[bool] = mapped_column(Boolean, default=False)

    observed_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    observed_at_source: Mapped[str] = mapped_column(String(16))
    # A client time outside what the service stores (bounds.py), kept as sent and ignored.
    observed_at_rejected: Mapped[str | None] = mapped_column(String(64))
    captured_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    verdict: Mapped[str] = mapped_column(String(16), index=True)
    combined: Mapped[dict[str, Any]] = mapped_column(JsonType)
    model_name: Mapped[str] = mapped_column(String(200))
    model_version: Mapped[str] = mapped_column(String(100))
    model_sha256: Mapped[str] = mapped_column(String(64))

    review_state: Mapped[str] = mapped_column(String(32), index=True, default="pending")
    review_label: Mapped[str | None] = mapped_column(String(64))
    review_note: Mapped[str | None] = mapped_column(Text)
    reviewed_by: Mapped[str | None] = mapped_column(String(200))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    eradicated_on: Mapped[date | None] = mapped_column(Date, index=True)
    eradicated_plants: Mapped[int | None] = mapped_column(Integer)
    eradicated_area_m2: Mapped[float | None] = mapped_column(Float)
    eradication_method: Mapped[str | None] = mapped_column(String(32))
    eradication_note: Mapped[str | None] = mapped_column(Text)

    target_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("targets.id", ondelete="RESTRICT"), index=True
    )
    created_by: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    photos: Mapped[list[InspectionPhoto]] = relationship(
        back_populates="inspection",
        order_by="InspectionPhoto.position",
        cascade="all, delete-orphan",
        lazy="selectin",
    )


class InspectionPhoto(Base):
    """A photo of an inspection: the original is in the photo store under ``sha256``."""

    __tablename__ = "inspection_photos"
    __table_args__ = (
        UniqueConstraint("inspection_id", "position", name="uq_inspection_photos_position"),
    )

    id: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    inspection_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("inspections.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    n_bytes: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(100))
    format: Mapped[str] = mapped_column(String(16))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    filename: Mapped[str | None] = mapped_column(String(300))
    verdict: Mapped[str] = mapped_column(String(16))
    score: Mapped[dict[str, Any]] = mapped_column(JsonType)
    gps_lat: Mapped[float | None] = mapped_column(Float)
    gps_lon: Mapped[float | None] = mapped_column(Float)
    gps_altitude_m: Mapped[float | None] = mapped_column(Float)
    captured_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    geotags: Mapped[dict[str, Any] | None] = mapped_column(JsonType)

    inspection: Mapped[Inspection] = relationship(back_populates="photos")


class AuditEvent(Base):
    """Who changed what, when: one row per create / update / import, with old → new values."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_entity", "entity", "entity_id"),)

    id: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str] = mapped_column(String(36))
    action: Mapped[str] = mapped_column(String(32))
    changes: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    actor_key_id: Mapped[str | None] = mapped_column(String(32))
    actor_name: Mapped[str | None] = mapped_column(String(200))
    actor_role: Mapped[str | None] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


# Patrol planning tables (issue 14) live in their own module; importing it here registers
# them on Base.metadata for Alembic and for everything that imports ``models``.
from .models_planning import (  # noqa: E402, F401
    HistoryPoint,
    Household,
    Plan,
    PlanItem,
    PlanUnit,
    Site,
    Track,
    TrackCell,
)

# Public tip-off tables (issue 15) live in their own module; importing it here registers them
# on Base.metadata for Alembic and for everything that imports ``models``.
from .models_tips import Tip, TipPhoto  # noqa: E402, F401
