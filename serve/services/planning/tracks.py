"""GPS tracks from the field page: stored as the phone sent them, credited to grid cells.

The page records fixes while it is open and sends them in chunks, each with an id made on
the phone (like inspections), from a queue that survives losing the network. A re-sent
chunk with the same points is answered with the chunk already stored (200); the same id
with other points is a 409. Points out of time order, or in the future, are a 422.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ...db import Database
from ...errors import Conflict, Forbidden, Unprocessable
from ...keys import Principal
from ...models import Track, TrackCell, utcnow
from ...schemas import planning as s
from ...vocab import Role
from .. import audit
from . import grid
from .visits import local_day

FUTURE_SLACK = timedelta(minutes=10)


@dataclass(frozen=True)
class Filed:
    track: s.Track
    created: bool


def _fingerprint(points: list[list[object]]) -> str:
    return hashlib.sha256(json.dumps(points, separators=(",", ":")).encode()).hexdigest()


def _unit(principal: Principal, requested: str | None) -> str:
    if principal.role.allows(Role.REVIEWER):
        unit = requested or principal.unit
        if not unit:
            raise Unprocessable(
                "name the unit the patrol belongs to",
                details=[{"field": "unit", "message": "required for keys without a unit"}],
            )
        return unit
    if requested and requested != principal.unit:
        raise Forbidden(
            f"an inspector key of unit {principal.unit!r} cannot file for unit {requested!r}"
        )
    assert principal.unit is not None
    return principal.unit


def file_track(
    db: Database,
    principal: Principal,
    body: s.TrackIn,
    *,
    resolution: int,
    max_accuracy_m: float,
    zone: tzinfo,
) -> Filed:
    unit = _unit(principal, body.unit)
    now = datetime.now(UTC)
    points = [
        [round(p.lat, 7), round(p.lon, 7), p.at.astimezone(UTC).isoformat(), p.accuracy_m]
        for p in body.points
    ]
    late = next((i for i, p in enumerate(body.points) if p.at > now + FUTURE_SLACK), None)
    if late is not None:
        raise Unprocessable(
            f"point {late + 1} is in the future ({body.points[late].at.isoformat()}); "
            "check the phone's clock",
            details=[{"field": f"points.{late}.at", "message": "in the future"}],
        )
    fingerprint = _fingerprint(points)
    fixes = [grid.TrackPoint(p.lat, p.lon, p.at.astimezone(UTC), p.accuracy_m) for p in body.points]
    used = [f for f in fixes if f.accuracy_m is None or f.accuracy_m <= max_accuracy_m]
    by_day: dict[date, list[grid.TrackPoint]] = defaultdict(list)
    for fix in used:
        by_day[local_day(fix.at, zone)].append(fix)
    lats = [p.lat for p in body.points]
    lons = [p.lon for p in body.points]
    track_id = str(body.id)
    try:
        with db.write() as session:
            existing = session.scalar(select(Track).where(Track.id == track_id))
            if existing is not None:
                if existing.fingerprint != fingerprint:
                    raise Conflict(f"track chunk {track_id} was already filed with other points")
                return Filed(present(existing, _cell_count(session, track_id)), False)
            row = Track(
                id=track_id,
                fingerprint=fingerprint,
                unit=unit,
                inspector=body.inspector or principal.name,
                key_id=principal.key_id,
                started_at=fixes[0].at,
                ended_at=fixes[-1].at,
                n_points=len(fixes),
                used_points=len(used),
                distance_m=round(grid.track_length_m(used), 1),
                points=points,
                min_lat=min(lats),
                min_lon=min(lons),
                max_lat=max(lats),
                max_lon=max(lons),
                resolution=resolution,
                created_at=utcnow(),
            )
            session.add(row)
            session.flush()
            n_cells = 0
            for day, group in sorted(by_day.items()):
                walked = grid.walked_cells(group, resolution, max_accuracy_m=max_accuracy_m)
                for cell, (first, _last) in walked.items():
                    session.add(TrackCell(track_id=track_id, cell=cell, day=day, first_at=first))
                    n_cells += 1
            audit.record(
                session,
                entity="track",
                entity_id=track_id,
                action="filed",
                changes={"unit": unit, "points": len(fixes), "used": len(used), "cells": n_cells},
                actor=principal,
            )
            session.flush()
            return Filed(present(row, n_cells), True)
    except IntegrityError:
        # the same chunk sent twice at once: the other request stored it
        with db.read() as session:
            existing = session.scalar(select(Track).where(Track.id == track_id))
            if existing is not None and existing.fingerprint == fingerprint:
                return Filed(present(existing, _cell_count(session, track_id)), False)
        raise Conflict(f"track chunk {track_id} was filed at the same time; retry") from None


def _cell_count(session, track_id: str) -> int:
    return (
        session.scalar(
            select(func.count(func.distinct(TrackCell.cell))).where(TrackCell.track_id == track_id)
        )
        or 0
    )


def present(row: Track, cells: int) -> s.Track:
    return s.Track(
        id=row.id,
        unit=row.unit,
        inspector=row.inspector,
        started_at=row.started_at,
        ended_at=row.ended_at,
        points=row.n_points,
        used_points=row.used_points,
        distance_m=row.distance_m,
        cells=cells,
        created_at=row.created_at,
    )


def cell_counts(session, track_ids: list[str]) -> dict[str, int]:
    if not track_ids:
        return {}
    return dict(
        session.execute(
            select(TrackCell.track_id, func.count(func.distinct(TrackCell.cell)))
            .where(TrackCell.track_id.in_(track_ids))
            .group_by(TrackCell.track_id)
        ).all()
    )
