"""Survey targets: idempotent import, derived status, and suggested links by distance.

Status is derived, never set by hand, and is recomputed in the same transaction as any change
to a linked inspection (filing, linking, review, eradication), so it can be filtered in SQL
and can never disagree with the inspections it summarises:

- ``open``: no linked inspection;
- ``eradicated``: a linked inspection records an eradication;
- ``cleared``: every linked inspection was reviewed, and none confirmed a controlled species;
- ``checked``: anything else (visited, awaiting review, or confirmed and awaiting eradication).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .. import geo
from ..db import Database
from ..errors import Conflict, NotFound
from ..keys import Principal
from ..models import Inspection, Target, utcnow
from ..schemas.targets import ImportResult
from ..vocab import ReviewState, Role, TargetStatus
from . import audit
from .filters import TargetFilter, encode_cursor
from .target_files import TargetRow, detect_format, parse_targets

_NOT_CONTROLLED = {ReviewState.LOOKALIKE.value, ReviewState.NOT_TARGET.value}


@dataclass(frozen=True)
class ImportCounts:
    created: int
    updated: int
    unchanged: int
    ids: list[str]


def _fields(row: TargetRow) -> dict[str, object]:
    min_lat, min_lon, max_lat, max_lon = geo.bbox(row.geometry)
    lat, lon = geo.centroid(row.geometry)
    return {
        "name": row.name,
        "notes": row.notes,
        "geometry": row.geometry,
        "lat": lat,
        "lon": lon,
        "min_lat": min_lat,
        "min_lon": min_lon,
        "max_lat": max_lat,
        "max_lon": max_lon,
        "issued_on": row.issued_on,
        "due_on": row.due_on,
        "unit": row.unit,
        "properties": row.properties,
        "content_hash": row.content_hash(),
    }


def list_page(
    session: Session, flt: TargetFilter, after: int | None, limit: int
) -> tuple[list[Target], dict[str, int], str | None]:
    """One page, oldest first: rows after the cursor, their linked counts, the next cursor."""
    query = flt.apply(select(Target))
    if after is not None:
        query = query.where(Target.seq > after)
    rows = list(session.scalars(query.order_by(Target.seq).limit(limit + 1)))
    more, rows = len(rows) > limit, rows[:limit]
    next_cursor = encode_cursor(rows[-1].seq) if more and rows else None
    return rows, linked_counts(session, [r.id for r in rows]), next_cursor


def linked_inspection_ids(session: Session, principal: Principal, target: Target) -> list[str]:
    """Ids of the inspections linked to ``target`` that the key may see, oldest first."""
    query = select(Inspection.id).where(Inspection.target_id == target.id)
    if not principal.role.allows(Role.REVIEWER):
        query = query.where(Inspection.unit == principal.unit)
    return list(session.scalars(query.order_by(Inspection.seq)))


def import_targets(
    session: Session, issuer: str, rows: list[TargetRow], actor: Principal | None
) -> ImportCounts:
    """Create new targets, update changed ones, leave identical ones alone."""
    existing: dict[str, Target] = {}
    ids = [r.issuer_id for r in rows]
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for target in session.scalars(
            select(Target).where(Target.issuer == issuer, Target.issuer_id.in_(chunk))
        ):
            existing[target.issuer_id] = target
    created = updated = unchanged = 0
    out: list[str] = []
    for row in rows:
        fields = _fields(row)
        target = existing.get(row.issuer_id)
        if target is None:
            target = Target(id=str(uuid.uuid4()), issuer=issuer, issuer_id=row.issuer_id, **fields)
            target.status = TargetStatus.OPEN.value
            session.add(target)
            audit.record(
                session,
                entity="target",
                entity_id=target.id,
                action="imported",
                changes={"issuer": issuer, "issuer_id": row.issuer_id},
                actor=actor,
            )
            created += 1
        elif target.content_hash == fields["content_hash"]:
            unchanged += 1
        else:
            before = {k: getattr(target, k) for k in fields if k != "content_hash"}
            for key, value in fields.items():
                setattr(target, key, value)
            target.updated_at = utcnow()
            changes = audit.diff(before, {k: v for k, v in fields.items() if k != "content_hash"})
            changes.pop("geometry", None)  # large; min/max and centroid changes show it moved
            audit.record(
                session,
                entity="target",
                entity_id=target.id,
                action="reimported",
                changes=changes,
                actor=actor,
            )
            updated += 1
        out.append(target.id)
    session.flush()
    return ImportCounts(created, updated, unchanged, out)


def derive_status(states: Iterable[tuple[str, object]]) -> TargetStatus:
    """From (review_state, eradicated_on) of each linked inspection; see the module doc."""
    links = list(states)
    if not links:
        return TargetStatus.OPEN
    if any(eradicated is not None for _, eradicated in links):
        return TargetStatus.ERADICATED
    if all(state in _NOT_CONTROLLED for state, _ in links):
        return TargetStatus.CLEARED
    return TargetStatus.CHECKED


def refresh_status(session: Session, target_ids: Iterable[str | None], actor: Principal | None):
    """Recompute the status of targets after a change to their inspections (same transaction)."""
    session.flush()
    # The target row is locked before its links are read (PostgreSQL; SQLite's write lock
    # already serialises writers): two reviewers changing two inspections of one target then
    # cannot both derive the status from a view that misses the other's change. Sorted, so
    # two transactions touching the same pair of targets lock them in the same order.
    for target_id in sorted({t for t in target_ids if t}):
        target = session.scalar(select(Target).where(Target.id == target_id).with_for_update())
        if target is None:
            continue
        links = session.execute(
            select(Inspection.review_state, Inspection.eradicated_on).where(
                Inspection.target_id == target_id
            )
        ).all()
        status = derive_status((r[0], r[1]) for r in links).value
        if status != target.status:
            audit.record(
                session,
                entity="target",
                entity_id=target.id,
                action="status",
                changes={"status": (target.status, status)},
                actor=actor,
            )
            target.status = status
            target.updated_at = utcnow()


def visible(principal: Principal, target: Target) -> bool:
    """Inspectors see their unit's targets and unassigned ones; reviewers see all."""
    return principal.role.allows(Role.REVIEWER) or target.unit in (None, principal.unit)


def get_visible(session: Session, principal: Principal, target_id: str) -> Target:
    target = session.scalar(select(Target).where(Target.id == target_id))
    if target is None or not visible(principal, target):
        raise NotFound(f"no target {target_id!r}")
    return target


def linked_counts(session: Session, target_ids: list[str]) -> dict[str, int]:
    if not target_ids:
        return {}
    rows = session.execute(
        select(Inspection.target_id, func.count())
        .where(Inspection.target_id.in_(target_ids))
        .group_by(Inspection.target_id)
    ).all()
    return {r[0]: r[1] for r in rows}


def targets_near(
    session: Session, lat: float, lon: float, radius_m: float, principal: Principal
) -> list[tuple[Target, float]]:
    """Open targets within ``radius_m`` of a point (0 inside a polygon), nearest first."""
    min_lat, min_lon, max_lat, max_lon = geo.degrees_box(lat, lon, radius_m)
    query = select(Target).where(
        Target.status == TargetStatus.OPEN.value,
        Target.max_lat >= min_lat,
        Target.min_lat <= max_lat,
        Target.max_lon >= min_lon,
        Target.min_lon <= max_lon,
    )
    found = []
    for target in session.scalars(query):
        if not visible(principal, target):
            continue
        distance = geo.distance_to_geometry_m(lat, lon, target.geometry)
        if distance <= radius_m:
            found.append((target, distance))
    return sorted(found, key=lambda pair: pair[1])


def inspections_near(
    session: Session, target: Target, radius_m: float, principal: Principal
) -> list[tuple[Inspection, float]]:
    """Unlinked, located inspections within ``radius_m`` of a target, nearest first."""
    lo_lat, lo_lon, _, _ = geo.degrees_box(target.min_lat, target.min_lon, radius_m)
    _, _, hi_lat, hi_lon = geo.degrees_box(target.max_lat, target.max_lon, radius_m)
    query = select(Inspection).where(
        Inspection.target_id.is_(None),
        Inspection.lat.between(lo_lat, hi_lat),
        Inspection.lon.between(lo_lon, hi_lon),
    )
    if not principal.role.allows(Role.REVIEWER):
        query = query.where(Inspection.unit == principal.unit)
    found = []
    for inspection in session.scalars(query):
        assert inspection.lat is not None and inspection.lon is not None
        distance = geo.distance_to_geometry_m(inspection.lat, inspection.lon, target.geometry)
        if distance <= radius_m:
            found.append((inspection, distance))
    return sorted(found, key=lambda pair: pair[1])


def import_file(
    db: Database,
    principal: Principal | None,
    issuer: str,
    data: bytes,
    filename: str | None,
    fmt: str | None,
) -> ImportResult:
    """Parse and import a whole file (API and CLI): all rows or none."""
    rows = parse_targets(data, fmt or detect_format(filename, data))
    try:
        with db.write() as session:
            counts = import_targets(session, issuer, rows, principal)
    except IntegrityError:
        raise Conflict("another import of the same targets ran at the same time; retry") from None
    return ImportResult(
        issuer=issuer,
        total=len(rows),
        created=counts.created,
        updated=counts.updated,
        unchanged=counts.unchanged,
        ids=counts.ids,
    )
