"""Planting history: imported survey points of past years, and the service's own records.

Imported points are keyed by (source, the source's id), like targets by issuer. The
service's own knowledge is read live, never copied, so it cannot go stale:

- a located inspection a reviewer confirmed as opium poppy or cannabis is a planting
  (``eradicated`` when an eradication is recorded, else ``confirmed``);
- an eradicated target none of whose linked inspections is confirmed is a planting at the
  target (its eradication is on record, its review is not);
- a cleared target (every linked inspection reviewed, none confirmed) is a false alarm.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ... import geo
from ...db import Database
from ...errors import Conflict
from ...keys import Principal
from ...models import HistoryPoint, Inspection, PlanUnit, Target
from ...schemas import planning as s
from ...vocab import ReviewState, TargetStatus
from . import files
from .common import Counts, content_hash, upsert
from .registry import units_containing

UNIT_TOLERANCE_M = 50.0
HISTORY_ALIASES = {
    "年份": "year",
    "年度": "year",
    "日期": "observed_on",
    "发现日期": "observed_on",
    "date": "observed_on",
    "结果": "outcome",
    "核查结果": "outcome",
    "status": "outcome",
    "品种": "species",
    "种类": "species",
    "株数": "plants",
    "面积": "area_m2",
    "面积(平方米)": "area_m2",
    "面积（平方米）": "area_m2",
    "area": "area_m2",
}
OUTCOMES = {
    "confirmed": "confirmed",
    "eradicated": "eradicated",
    "false_alarm": "false_alarm",
    "false alarm": "false_alarm",
    "确认": "confirmed",
    "已确认": "confirmed",
    "属实": "confirmed",
    "铲除": "eradicated",
    "已铲除": "eradicated",
    "误报": "false_alarm",
    "排除": "false_alarm",
    "不属实": "false_alarm",
}
SPECIES = {
    "opium_poppy": "opium_poppy",
    "poppy": "opium_poppy",
    "cannabis": "cannabis",
    "unknown": "unknown",
    "罂粟": "opium_poppy",
    "大麻": "cannabis",
    "未知": "unknown",
    "其他": "unknown",
}
_SPECIES_OF_STATE = {
    ReviewState.CONFIRMED_OPIUM_POPPY.value: "opium_poppy",
    ReviewState.CONFIRMED_CANNABIS.value: "cannabis",
}
PLANTED = ("confirmed", "eradicated")


@dataclass(frozen=True)
class PastPoint:
    """One planting or false alarm, from any source."""

    source: str
    source_id: str
    lat: float
    lon: float
    year: int
    observed_on: date | None
    outcome: str
    species: str
    plants: int | None
    area_m2: float | None
    unit: str | None


# -- import ----------------------------------------------------------------------------------


def _values(row: files.RawRow, source: str, unit: str | None, latest: date) -> dict[str, Any]:
    f = row.fields
    ident = files.text(f.get("id"), 200, "id")
    if not ident:
        raise ValueError("the point's id is missing (id)")
    if row.geometry is None:
        raise ValueError("no location (lat/lon, or a geometry)")
    geometry = geo.normalise_geometry(row.geometry)
    lat, lon = geo.centroid(geometry)
    observed = files.day(f.get("observed_on"), "observed_on", latest=latest)
    year = files.integer(f.get("year"), "year", 1950, latest.year)
    if year is None and observed is None:
        raise ValueError("give the year or the date (observed_on)")
    if year is not None and observed is not None and observed.year != year:
        raise ValueError(f"year {year} and observed_on {observed} disagree")
    plants = files.integer(f.get("plants"), "plants", 0, 10_000_000)
    known = {"id", "unit", "lat", "lon", "geometry", "observed_on", "year", "outcome"}
    known |= {"species", "plants", "area_m2", "notes", "simulation"}
    values = {
        "source": source,
        "source_id": ident,
        "unit": unit,
        "lat": lat,
        "lon": lon,
        "year": year if year is not None else observed.year,  # type: ignore[union-attr]
        "observed_on": observed,
        "outcome": files.choice(f.get("outcome"), "outcome", OUTCOMES),
        "species": files.choice(f.get("species"), "species", SPECIES, "unknown"),
        "plants": plants,
        "area_m2": files.number(f.get("area_m2"), "area_m2", 0, 1e9),
        "notes": files.text(f.get("notes"), 4000, "notes"),
        "simulation": bool(files.flag(f.get("simulation"), "simulation")),
        "properties": {
            k: v
            for k, v in f.items()
            if k not in known and v not in ("", None) and isinstance(v, str | int | float | bool)
        },
    }
    return values


def import_history(
    db: Database,
    principal: Principal | None,
    source: str,
    data: bytes,
    filename: str | None,
    fmt: str | None,
    encoding: str | None = None,
) -> s.PlanImportResult:
    """Every point must fall in a unit (the one it names, or the one that holds it)."""
    raw, used = files.read_rows(data, filename, fmt, HISTORY_ALIASES, encoding)
    files.require_columns(raw, {"outcome"}, "history (survey outcome)")
    latest = date.today() + timedelta(days=1)
    try:
        with db.write() as session:
            units = list(session.scalars(select(PlanUnit)))
            by_name = {u.name: u for u in units}
            errors, parsed = files.RowErrors(), []
            for row in raw:
                try:
                    named = files.text(row.fields.get("unit"), 100, "unit")
                    if named is not None and named not in by_name:
                        raise ValueError(f"unknown unit {named!r}: import its boundary first")
                    parsed.append((row.number, _values(row, source, named, latest)))
                except (ValueError, geo.GeometryError) as exc:
                    errors.add(row.number, row.fields.get("id"), str(exc))
            files.check_unique(parsed, lambda v: (v["source_id"],), errors, "point id")
            _place(parsed, units, by_name, errors)
            errors.raise_if_any("the history file has bad rows")
            for _, values in parsed:
                values["content_hash"] = content_hash(values)
            existing = {
                h.source_id: h
                for h in session.scalars(select(HistoryPoint).where(HistoryPoint.source == source))
            }
            counts = Counts()
            ids = upsert(
                session,
                entity="history",
                existing=existing,
                items=[(v["source_id"], v) for _, v in parsed],
                make=lambda v: HistoryPoint(id=str(uuid.uuid4()), **v),
                actor=principal,
                counts=counts,
            )
    except IntegrityError:
        raise Conflict("another import of the same history ran at the same time; retry") from None
    return s.PlanImportResult(
        kind="history",
        total=len(parsed),
        created=counts.created,
        updated=counts.updated,
        unchanged=counts.unchanged,
        encoding=used,
        ids=ids,
    )


def _place(parsed, units: list[PlanUnit], by_name: dict[str, PlanUnit], errors) -> None:
    """Assign each point its unit, or report it outside (of the named one, or of all)."""
    if not parsed:
        return
    lat = np.array([v["lat"] for _, v in parsed])
    lon = np.array([v["lon"] for _, v in parsed])
    found = units_containing(units, lat, lon, UNIT_TOLERANCE_M)
    for (number, values), unit in zip(parsed, found, strict=True):
        named = values["unit"]
        if named is None:
            if unit is None:
                errors.add(number, values["source_id"], "the point is outside every unit")
            values["unit"] = unit
        elif unit != named:
            errors.add(
                number,
                values["source_id"],
                f"the point is outside unit {named!r}"
                + (f" (it lies in {unit!r})" if unit else " (and outside every unit)"),
            )


def present(row: HistoryPoint) -> s.HistoryPoint:
    return s.HistoryPoint(
        id=row.id,
        source=row.source,
        source_id=row.source_id,
        unit=row.unit,
        lat=row.lat,
        lon=row.lon,
        year=row.year,
        observed_on=row.observed_on,
        outcome=row.outcome,
        species=row.species,
        plants=row.plants,
        area_m2=row.area_m2,
        notes=row.notes,
        simulation=row.simulation,
    )


# -- reading every source --------------------------------------------------------------------


def past_points(
    session: Session,
    box: tuple[float, float, float, float] | None = None,
    *,
    until: date | None = None,
) -> list[PastPoint]:
    """Imported and live points inside ``box`` (min_lat, min_lon, max_lat, max_lon), dated
    before ``until`` (a point with only a year counts as before any date of a later year)."""
    points: list[PastPoint] = []
    query = select(HistoryPoint)
    if box is not None:
        query = query.where(
            HistoryPoint.lat.between(box[0], box[2]), HistoryPoint.lon.between(box[1], box[3])
        )
    for h in session.scalars(query):
        points.append(
            PastPoint(
                h.source,
                h.source_id,
                h.lat,
                h.lon,
                h.year,
                h.observed_on,
                h.outcome,
                h.species,
                h.plants,
                h.area_m2,
                h.unit,
            )
        )
    points.extend(_own_points(session, box))
    if until is not None:
        points = [
            p
            for p in points
            if (p.observed_on is not None and p.observed_on < until)
            or (p.observed_on is None and p.year < until.year)
        ]
    return points


def _own_points(session: Session, box) -> list[PastPoint]:
    out: list[PastPoint] = []
    confirmed = list(_SPECIES_OF_STATE)
    query = select(Inspection).where(
        Inspection.review_state.in_(confirmed), Inspection.lat.is_not(None)
    )
    if box is not None:
        query = query.where(
            Inspection.lat.between(box[0], box[2]), Inspection.lon.between(box[1], box[3])
        )
    for i in session.scalars(query):
        assert i.lat is not None and i.lon is not None
        seen = i.observed_at.date()
        out.append(
            PastPoint(
                "plantscout:inspection",
                i.id,
                i.lat,
                i.lon,
                seen.year,
                seen,
                "eradicated" if i.eradicated_on else "confirmed",
                _SPECIES_OF_STATE[i.review_state],
                i.eradicated_plants,
                i.eradicated_area_m2,
                i.unit,
            )
        )
    target_query = select(Target).where(
        Target.status.in_([TargetStatus.ERADICATED.value, TargetStatus.CLEARED.value])
    )
    if box is not None:
        target_query = target_query.where(
            Target.lat.between(box[0], box[2]), Target.lon.between(box[1], box[3])
        )
    targets = list(session.scalars(target_query))
    if not targets:
        return out
    links: dict[str, list[tuple[str, date | None, Any]]] = defaultdict(list)
    for target_id, state, eradicated, observed in session.execute(
        select(
            Inspection.target_id,
            Inspection.review_state,
            Inspection.eradicated_on,
            Inspection.observed_at,
        ).where(Inspection.target_id.in_([t.id for t in targets]))
    ).all():
        links[target_id].append((state, eradicated, observed))
    for t in targets:
        linked = links.get(t.id, [])
        if any(state in _SPECIES_OF_STATE for state, _, _ in linked):
            continue  # the confirmed inspection above already stands for it
        days = [e for _, e, _ in linked if e is not None] or [o.date() for _, _, o in linked]
        when = min(days) if days else t.issued_on
        if when is None:
            continue
        out.append(
            PastPoint(
                "plantscout:target",
                t.id,
                t.lat,
                t.lon,
                when.year,
                when,
                "eradicated" if t.status == TargetStatus.ERADICATED.value else "false_alarm",
                "unknown",
                None,
                None,
                t.unit,
            )
        )
    return out
