"""ORM tables of patrol planning (issue 14): jurisdiction, registries, history, plans, tracks.

Kept apart from ``models.py`` (which imports this module at its end, so ``Base.metadata`` and
the Alembic comparison see every table) because the planning tables change on their own
schedule. Storage only: API shapes are in ``schemas/planning.py``.

- ``plan_units``: a unit's jurisdiction — a polygon, or a point and radius for a village
  that has no surveyed boundary. ``name`` is the same string inspections and keys carry.
- ``plan_households`` / ``plan_sites``: the registry. Household names, contacts and
  addresses are personal data: only the unit's own keys and reviewers may read them.
- ``plan_history``: past survey points with their outcome (confirmed / eradicated / false
  alarm), imported from files; the service's own confirmed inspections and closed targets
  are read live and are not copied here.
- ``plan_plans`` / ``plan_items``: a unit's season plan (campaigns with dates; cells, sites
  and households to sweep, how many times, by when).
- ``plan_tracks`` / ``plan_track_cells``: GPS tracks sent by the field page, in chunks the
  phone names (a re-sent chunk is recognised), and the grid cells each chunk walked.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base, JsonType, SeqType, UTCDateTime, utcnow


class PlanUnit(Base):
    """A unit's jurisdiction, by the unit's name (the string inspections and keys carry)."""

    __tablename__ = "plan_units"

    seq: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    parent: Mapped[str | None] = mapped_column(String(100))
    geometry: Mapped[dict[str, Any]] = mapped_column(JsonType)  # Polygon, MultiPolygon or Point
    radius_m: Mapped[float | None] = mapped_column(Float)  # for a Point: the area it stands for
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    min_lat: Mapped[float] = mapped_column(Float)
    min_lon: Mapped[float] = mapped_column(Float)
    max_lat: Mapped[float] = mapped_column(Float)
    max_lon: Mapped[float] = mapped_column(Float)
    simulation: Mapped[bool] = mapped_column(Boolean, default=False)
    properties: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    content_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Household(Base):
    """A registered household. Names, contacts and address are personal data."""

    __tablename__ = "plan_households"
    __table_args__ = (
        UniqueConstraint("unit", "external_id", name="uq_plan_households_unit_external_id"),
    )

    seq: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True)
    unit: Mapped[str] = mapped_column(String(100), index=True)
    external_id: Mapped[str] = mapped_column(String(100))
    village_group: Mapped[str | None] = mapped_column(String(100))
    head_name: Mapped[str | None] = mapped_column(String(100))
    contact: Mapped[str | None] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(String(300))
    past_offender: Mapped[bool] = mapped_column(Boolean, default=False)
    offence_years: Mapped[list[int]] = mapped_column(JsonType, default=list)
    pledge_signed_on: Mapped[date | None] = mapped_column(Date)
    notice_served_on: Mapped[date | None] = mapped_column(Date)
    notes: Mapped[str | None] = mapped_column(Text)
    simulation: Mapped[bool] = mapped_column(Boolean, default=False)
    content_hash: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Site(Base):
    """A place to sweep: a courtyard, field, greenhouse, rooftop … optionally a household's."""

    __tablename__ = "plan_sites"
    __table_args__ = (
        UniqueConstraint("unit", "external_id", name="uq_plan_sites_unit_external_id"),
        Index("ix_plan_sites_lat_lon", "lat", "lon"),
    )

    seq: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True)
    unit: Mapped[str] = mapped_column(String(100), index=True)
    external_id: Mapped[str] = mapped_column(String(100))
    name: Mapped[str | None] = mapped_column(String(300))
    site_type: Mapped[str] = mapped_column(String(32))
    geometry: Mapped[dict[str, Any]] = mapped_column(JsonType)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    min_lat: Mapped[float] = mapped_column(Float)
    min_lon: Mapped[float] = mapped_column(Float)
    max_lat: Mapped[float] = mapped_column(Float)
    max_lon: Mapped[float] = mapped_column(Float)
    household_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("plan_households.id", ondelete="RESTRICT"), index=True
    )
    offence_years: Mapped[list[int]] = mapped_column(JsonType, default=list)
    notes: Mapped[str | None] = mapped_column(Text)
    simulation: Mapped[bool] = mapped_column(Boolean, default=False)
    content_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class HistoryPoint(Base):
    """A past survey point with its outcome, keyed by (source, the source's id)."""

    __tablename__ = "plan_history"
    __table_args__ = (
        UniqueConstraint("source", "source_id", name="uq_plan_history_source_source_id"),
        Index("ix_plan_history_lat_lon", "lat", "lon"),
    )

    seq: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True)
    source: Mapped[str] = mapped_column(String(100))
    source_id: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(100), index=True)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    year: Mapped[int] = mapped_column(Integer, index=True)
    observed_on: Mapped[date | None] = mapped_column(Date)
    outcome: Mapped[str] = mapped_column(String(16))
    species: Mapped[str] = mapped_column(String(32))
    plants: Mapped[int | None] = mapped_column(Integer)
    area_m2: Mapped[float | None] = mapped_column(Float)
    notes: Mapped[str | None] = mapped_column(Text)
    properties: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    simulation: Mapped[bool] = mapped_column(Boolean, default=False)
    content_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Plan(Base):
    """A unit's plan for one season: campaigns (JSON list) and the items to sweep."""

    __tablename__ = "plan_plans"
    __table_args__ = (UniqueConstraint("unit", "season", name="uq_plan_plans_unit_season"),)

    seq: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True)
    unit: Mapped[str] = mapped_column(String(100), index=True)
    season: Mapped[int] = mapped_column(Integer)
    name: Mapped[str | None] = mapped_column(String(200))
    resolution: Mapped[int] = mapped_column(Integer)
    campaigns: Mapped[list[dict[str, Any]]] = mapped_column(JsonType, default=list)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class PlanItem(Base):
    """One thing to sweep ``sweeps`` times between ``starts_on`` and ``due_on``."""

    __tablename__ = "plan_items"
    __table_args__ = (
        UniqueConstraint("plan_id", "kind", "ref", "campaign", name="uq_plan_items_ref"),
    )

    id: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    plan_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("plan_plans.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))  # cell, site, household
    ref: Mapped[str] = mapped_column(String(36))  # H3 cell, site id or household id
    campaign: Mapped[str] = mapped_column(String(32))
    sweeps: Mapped[int] = mapped_column(Integer)
    starts_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(String(500))


class Track(Base):
    """One chunk of a patrol's GPS track, as the field page sent it (id made on the phone)."""

    __tablename__ = "plan_tracks"

    seq: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    unit: Mapped[str] = mapped_column(String(100), index=True)
    inspector: Mapped[str] = mapped_column(String(100))
    key_id: Mapped[str] = mapped_column(String(32))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    ended_at: Mapped[datetime] = mapped_column(UTCDateTime())
    n_points: Mapped[int] = mapped_column(Integer)
    used_points: Mapped[int] = mapped_column(Integer)
    distance_m: Mapped[float] = mapped_column(Float)
    points: Mapped[list[list[Any]]] = mapped_column(JsonType)  # [lat, lon, iso time, accuracy]
    min_lat: Mapped[float] = mapped_column(Float)
    min_lon: Mapped[float] = mapped_column(Float)
    max_lat: Mapped[float] = mapped_column(Float)
    max_lon: Mapped[float] = mapped_column(Float)
    resolution: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class TrackCell(Base):
    """A grid cell a track chunk walked on one day (at the chunk's resolution)."""

    __tablename__ = "plan_track_cells"
    __table_args__ = (Index("ix_plan_track_cells_cell_day", "cell", "day"),)

    id: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    track_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("plan_tracks.id", ondelete="CASCADE"), index=True
    )
    cell: Mapped[str] = mapped_column(String(16))
    day: Mapped[date] = mapped_column(Date)
    first_at: Mapped[datetime] = mapped_column(UTCDateTime())
