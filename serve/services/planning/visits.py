"""Who was where, when: the days each grid cell and each site was visited.

A visit is an inspection located in the cell (or within ``plan_site_radius_m`` of a site),
or a GPS track point accurate to ``plan_track_max_accuracy_m`` — whoever filed it, since
the ground was covered either way. Days are counted in the service's local zone
(``CAMERA_TIMEZONE``), so an early-morning patrol in Yunnan is not filed under yesterday.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from ... import geo
from ...models import Inspection, PlanUnit, Site, Track, TrackCell
from . import grid
from .common import unit_grid


def local_bounds(since: date, until: date, zone: tzinfo) -> tuple[datetime, datetime]:
    """[since 00:00, the day after until 00:00) in ``zone``, as UTC instants."""
    start = datetime.combine(since, time(0), zone).astimezone(UTC)
    end = datetime.combine(until + timedelta(days=1), time(0), zone).astimezone(UTC)
    return start, end


def local_day(moment: datetime, zone: tzinfo) -> date:
    return moment.astimezone(zone).date()


@dataclass
class Visits:
    cells: dict[str, set[date]] = field(default_factory=lambda: defaultdict(set))
    sites: dict[str, set[date]] = field(default_factory=lambda: defaultdict(set))
    turnouts: set[tuple[str, date]] = field(default_factory=set)  # (officer, day)
    inspections: int = 0
    track_m: float = 0.0


@dataclass(frozen=True)
class _Fix:
    lat: float
    lon: float
    day: date


def _box(unit: PlanUnit, margin_m: float) -> tuple[float, float, float, float]:
    lo_lat, lo_lon, _, _ = geo.degrees_box(unit.min_lat, unit.min_lon, margin_m)
    _, _, hi_lat, hi_lon = geo.degrees_box(unit.max_lat, unit.max_lon, margin_m)
    return lo_lat, lo_lon, hi_lat, hi_lon


def collect(
    session: Session,
    unit: PlanUnit,
    *,
    resolution: int,
    since: date,
    until: date,
    zone: tzinfo,
    sites: Iterable[Site] = (),
    site_radius_m: float,
    max_accuracy_m: float,
) -> Visits:
    """Visits to ``unit``'s cells and to ``sites`` between ``since`` and ``until`` (inclusive).

    ``turnouts``, ``inspections`` and ``track_m`` count what the unit's own people did.
    """
    g = unit_grid(unit, resolution)
    cells = g.cell_set
    start, end = local_bounds(since, until, zone)
    box = _box(unit, site_radius_m + 50)
    visits = Visits()
    fixes: list[_Fix] = []

    for row in session.execute(
        select(
            Inspection.lat,
            Inspection.lon,
            Inspection.observed_at,
            Inspection.unit,
            Inspection.inspector,
        ).where(
            Inspection.observed_at >= start,
            Inspection.observed_at < end,
            Inspection.lat.between(box[0], box[2]),
            Inspection.lon.between(box[1], box[3]),
        )
    ).all():
        lat, lon, observed, _, _ = row
        day = local_day(observed, zone)
        cell = grid.cell_of(lat, lon, resolution)
        if cell in cells:
            visits.cells[cell].add(day)
        fixes.append(_Fix(lat, lon, day))
    for inspector, observed in session.execute(
        select(Inspection.inspector, Inspection.observed_at).where(
            Inspection.unit == unit.name,
            Inspection.observed_at >= start,
            Inspection.observed_at < end,
        )
    ).all():
        visits.inspections += 1
        visits.turnouts.add((inspector, local_day(observed, zone)))

    tracks = list(
        session.scalars(
            select(Track).where(
                Track.started_at < end,
                Track.ended_at >= start,
                Track.max_lat >= box[0],
                Track.min_lat <= box[2],
                Track.max_lon >= box[1],
                Track.min_lon <= box[3],
            )
        )
    )
    same_res = [t.id for t in tracks if t.resolution == resolution]
    if same_res:
        for cell, day in session.execute(
            select(TrackCell.cell, TrackCell.day).where(
                TrackCell.track_id.in_(same_res),
                TrackCell.day >= since,
                TrackCell.day <= until,
            )
        ).all():
            if cell in cells:
                visits.cells[cell].add(day)
    for track in tracks:
        points = track_points(track, max_accuracy_m)
        in_window = [p for p in points if start <= p.at < end]
        if track.resolution != resolution:
            by_day: dict[date, list[grid.TrackPoint]] = defaultdict(list)
            for p in in_window:
                by_day[local_day(p.at, zone)].append(p)
            for day, group in by_day.items():
                for cell in grid.walked_cells(group, resolution, max_accuracy_m=max_accuracy_m):
                    if cell in cells:
                        visits.cells[cell].add(day)
        fixes.extend(_Fix(p.lat, p.lon, local_day(p.at, zone)) for p in in_window)
        if track.unit == unit.name and in_window:
            visits.turnouts.add((track.inspector, local_day(in_window[0].at, zone)))
            visits.track_m += grid.track_length_m(in_window)
    _credit_sites(visits, list(sites), fixes, site_radius_m)
    return visits


def track_points(track: Track, max_accuracy_m: float) -> list[grid.TrackPoint]:
    """The chunk's fixes accurate enough to count (``None`` accuracy counts)."""
    out = []
    for lat, lon, at, accuracy in track.points:
        if accuracy is not None and accuracy > max_accuracy_m:
            continue
        out.append(grid.TrackPoint(lat, lon, datetime.fromisoformat(at), accuracy))
    return out


def _credit_sites(visits: Visits, sites: list[Site], fixes: list[_Fix], radius_m: float) -> None:
    if not sites or not fixes:
        return
    lat = np.array([f.lat for f in fixes])
    lon = np.array([f.lon for f in fixes])
    for site in sites:
        lo_lat, lo_lon, _, _ = geo.degrees_box(site.min_lat, site.min_lon, radius_m)
        _, _, hi_lat, hi_lon = geo.degrees_box(site.max_lat, site.max_lon, radius_m)
        near = np.flatnonzero((lat >= lo_lat) & (lat <= hi_lat) & (lon >= lo_lon) & (lon <= hi_lon))
        for i in near:
            fix = fixes[i]
            if fix.day in visits.sites[site.id]:
                continue
            if geo.distance_to_geometry_m(fix.lat, fix.lon, site.geometry) <= radius_m:
                visits.sites[site.id].add(fix.day)
