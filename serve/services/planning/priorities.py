"""Priority areas of a unit for a season: the database side of ``scoring``.

Reads what was known at ``as_of``: plantings (imported history and the service's own
records) in and around the unit, the sites of past offenders, and when each cell was last
patrolled (inspections and GPS tracks); then ranks the unit's cells and returns them as a
GeoJSON FeatureCollection, best first, each with its score, rank and reasons.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ... import geo
from ...models import Household, Inspection, PlanUnit, Site, Track, TrackCell
from . import grid, history, scoring
from .common import get_unit, unit_grid
from .visits import local_bounds, local_day

NEIGHBOURHOOD_M = 1500.0  # plantings this far outside the unit still count for its edge cells


@dataclass
class Priorities:
    unit: PlanUnit
    season: int
    as_of: date
    resolution: int
    ranked: list[scoring.CellScore]
    weights: scoring.Weights


def default_as_of(season: int, today: date | None = None) -> date:
    today = today or date.today()
    return min(today, date(season, 12, 31)) if season <= today.year else today


def _box(unit: PlanUnit) -> tuple[float, float, float, float]:
    lo_lat, lo_lon, _, _ = geo.degrees_box(unit.min_lat, unit.min_lon, NEIGHBOURHOOD_M)
    _, _, hi_lat, hi_lon = geo.degrees_box(unit.max_lat, unit.max_lon, NEIGHBOURHOOD_M)
    return lo_lat, lo_lon, hi_lat, hi_lon


def offender_cells(
    session: Session, box: tuple[float, float, float, float], resolution: int
) -> list[str]:
    """Cells of sites with a recorded offence, or owned by a past-offender household."""
    rows = session.execute(
        select(Site.lat, Site.lon, Site.offence_years, Household.past_offender)
        .outerjoin(Household, Household.id == Site.household_id)
        .where(Site.lat.between(box[0], box[2]), Site.lon.between(box[1], box[3]))
    ).all()
    return [
        grid.cell_of(lat, lon, resolution)
        for lat, lon, years, offender in rows
        if years or offender
    ]


def last_patrolled(
    session: Session, unit: PlanUnit, resolution: int, as_of: date, zone: tzinfo
) -> dict[str, date]:
    cells = unit_grid(unit, resolution).cell_set
    _, end = local_bounds(as_of, as_of, zone)
    out: dict[str, date] = {}

    def note(cell: str, day: date) -> None:
        if cell in cells and (cell not in out or day > out[cell]):
            out[cell] = day

    for lat, lon, observed in session.execute(
        select(Inspection.lat, Inspection.lon, Inspection.observed_at).where(
            Inspection.observed_at < end,
            Inspection.lat.between(unit.min_lat, unit.max_lat),
            Inspection.lon.between(unit.min_lon, unit.max_lon),
        )
    ).all():
        note(grid.cell_of(lat, lon, resolution), local_day(observed, zone))
    for cell, day in session.execute(
        select(TrackCell.cell, func.max(TrackCell.day))
        .join(Track, Track.id == TrackCell.track_id)
        .where(
            Track.resolution == resolution,
            TrackCell.day <= as_of,
            Track.max_lat >= unit.min_lat,
            Track.min_lat <= unit.max_lat,
            Track.max_lon >= unit.min_lon,
            Track.min_lon <= unit.max_lon,
        )
        .group_by(TrackCell.cell)
    ).all():
        note(cell, day)
    return out


def priorities(
    session: Session,
    unit_name: str,
    season: int,
    *,
    resolution: int,
    zone: tzinfo,
    as_of: date | None = None,
    weights: scoring.Weights = scoring.Weights(),
) -> Priorities:
    unit = get_unit(session, unit_name)
    as_of = as_of or default_as_of(season)
    g = unit_grid(unit, resolution)
    box = _box(unit)
    cutoff = min(as_of, date(season, 12, 31))
    points = history.past_points(session, box, until=cutoff)
    plantings = [
        scoring.Planting(grid.cell_of(p.lat, p.lon, resolution), p.year)
        for p in points
        if p.outcome in history.PLANTED and p.year <= season
    ]
    ranked = scoring.score_cells(
        {c: g.border_m[c] for c in g.cells},
        plantings,
        offender_cells(session, box, resolution),
        season=season,
        last_patrolled=last_patrolled(session, unit, resolution, as_of, zone),
        as_of=as_of,
        weights=weights,
    )
    return Priorities(unit, season, as_of, resolution, ranked, weights)


def feature_collection(result: Priorities, limit: int | None = None) -> dict[str, Any]:
    ranked = result.ranked[:limit] if limit else result.ranked
    return {
        "type": "FeatureCollection",
        "unit": result.unit.name,
        "season": result.season,
        "as_of": result.as_of.isoformat(),
        "resolution": result.resolution,
        "cells": len(result.ranked),
        "weights": result.weights.as_dict(),
        "simulation": result.unit.simulation,
        "generated_at": datetime.now(UTC).isoformat(),
        "features": [
            {
                "type": "Feature",
                "id": item.cell,
                "geometry": grid.cell_polygon(item.cell),
                "properties": {
                    "cell": item.cell,
                    "rank": item.rank,
                    "score": item.score,
                    "percentile": round(100 * item.rank / len(result.ranked), 2),
                    "reasons": [
                        {"code": r.code, "weight": r.contribution, "zh": r.zh, "en": r.en}
                        for r in item.reasons
                    ],
                    "features": item.features,
                    "last_patrolled": item.last_patrolled.isoformat()
                    if item.last_patrolled
                    else None,
                },
            }
            for item in ranked
        ],
    }


def office_backtest(
    session: Session,
    *,
    resolution: int,
    years: list[int] | None = None,
    units: list[str] | None = None,
    weights: scoring.Weights = scoring.Weights(),
):
    """The back-test on this office's own history (every source ``past_points`` reads).

    Default years: the last three with plantings that have at least one earlier year.
    Returns (report, unit names, years, any simulated data).
    """
    from ...models import HistoryPoint
    from . import backtest

    rows = [u for u in session.scalars(select(PlanUnit).order_by(PlanUnit.seq))]
    if units:
        missing = sorted(set(units) - {u.name for u in rows})
        if missing:
            get_unit(session, missing[0])  # raises NotFound, with the hint to import it
        rows = [u for u in rows if u.name in units]
    grids = [unit_grid(u, resolution) for u in rows]
    points = history.past_points(session)
    records = [
        backtest.HistoryRecord(grid.cell_of(p.lat, p.lon, resolution), p.year, p.outcome)
        for p in points
    ]
    planted_years = sorted({p.year for p in points if p.outcome in history.PLANTED})
    if years is None:
        years = [y for y in planted_years if any(e < y for e in planted_years)][-3:]
    site_rows = session.execute(
        select(Site.lat, Site.lon, Site.offence_years, Household.offence_years).outerjoin(
            Household, Household.id == Site.household_id
        )
    ).all()
    offenders = [
        backtest.OffenderSite(
            grid.cell_of(lat, lon, resolution), tuple(sorted(set(own or []) | set(theirs or [])))
        )
        for lat, lon, own, theirs in site_rows
        if own or theirs
    ]
    report = backtest.backtest(grids, records, offenders, years, weights=weights)
    simulated = any(u.simulation for u in rows) or bool(
        session.scalar(select(func.count()).where(HistoryPoint.simulation.is_(True)))
    )
    return report, [u.name for u in rows], years, simulated
