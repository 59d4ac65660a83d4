"""Helpers the planning services share: units and their areas and grids, keyset pages,
who may see which unit, and upserts with an audit trail."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from shapely.geometry.base import BaseGeometry
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from ...errors import Forbidden, NotFound, Unprocessable
from ...keys import Principal
from ...models import PlanUnit, utcnow
from ...vocab import Role
from .. import audit
from ..filters import decode_cursor, encode_cursor
from . import grid, shapes


def content_hash(values: dict[str, Any]) -> str:
    blob = json.dumps(values, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()


@lru_cache(maxsize=1024)
def _area(geometry_json: str, radius_m: float | None) -> BaseGeometry:
    return shapes.area_shape(json.loads(geometry_json), radius_m)


def unit_area(unit: PlanUnit) -> BaseGeometry:
    return _area(json.dumps(unit.geometry, sort_keys=True), unit.radius_m)


def unit_grid(unit: PlanUnit, resolution: int) -> grid.UnitGrid:
    return grid.unit_grid(unit.name, unit.geometry, unit.radius_m, resolution)


def get_unit(session: Session, name: str) -> PlanUnit:
    unit = session.scalar(select(PlanUnit).where(PlanUnit.name == name))
    if unit is None:
        raise NotFound(
            f"unit {name!r} has no boundary yet; import it with POST /v1/units/import",
            details=[{"field": "unit", "message": "unknown unit"}],
        )
    return unit


def all_units(session: Session) -> list[PlanUnit]:
    return list(session.scalars(select(PlanUnit).order_by(PlanUnit.seq)))


def check_unit_access(principal: Principal, unit: str) -> None:
    """Inspectors work on their own unit only; reviewers and admins on every unit."""
    if not principal.role.allows(Role.REVIEWER) and unit != principal.unit:
        raise Forbidden(f"an inspector key of unit {principal.unit!r} cannot see unit {unit!r}")


def default_unit(principal: Principal, unit: str | None) -> str:
    if unit:
        check_unit_access(principal, unit)
        return unit
    if principal.unit:  # a reviewer key bound to a unit defaults to it too
        return principal.unit
    raise Unprocessable(
        "name the unit (unit=…)", details=[{"field": "unit", "message": "required"}]
    )


def page(
    session: Session, query: Select, seq_column: Any, cursor: str | None, limit: int
) -> tuple[list[Any], str | None]:
    """Oldest first, ``limit`` rows after the cursor; the next cursor when there are more."""
    after = decode_cursor(cursor)
    if after is not None:
        query = query.where(seq_column > after)
    rows = list(session.scalars(query.order_by(seq_column).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (encode_cursor(rows[-1].seq) if more and rows else None)


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


def upsert(
    session: Session,
    *,
    entity: str,
    existing: dict[Any, Any],
    items: Sequence[tuple[Any, dict[str, Any]]],
    make: Callable[[dict[str, Any]], Any],
    actor: Principal | None,
    counts: Counts,
    quiet: Iterable[str] = ("geometry",),
) -> list[str]:
    """Create new rows, update changed ones (by ``content_hash``), leave the rest; audited.

    ``items`` are (key, values) with ``values["content_hash"]`` set; ``existing`` maps keys to
    rows already stored. Fields in ``quiet`` are left out of the audit diff (large).
    """
    ids = []
    for key, values in items:
        row = existing.get(key)
        if row is None:
            row = make(values)
            session.add(row)
            audit.record(
                session,
                entity=entity,
                entity_id=row.id,
                action="imported",
                changes={"key": "/".join(map(str, key)) if isinstance(key, tuple) else str(key)},
                actor=actor,
            )
            existing[key] = row
            counts.created += 1
        elif row.content_hash == values["content_hash"]:
            counts.unchanged += 1
        else:
            fields = [k for k in values if k != "content_hash"]
            before = {k: getattr(row, k) for k in fields}
            for name, value in values.items():
                setattr(row, name, value)
            row.updated_at = utcnow()
            if hasattr(row, "version"):
                row.version = (row.version or 1) + 1
            changes = audit.diff(before, {k: values[k] for k in fields})
            for name in quiet:
                if name in changes:
                    changes[name] = ("…", "changed")
            audit.record(
                session,
                entity=entity,
                entity_id=row.id,
                action="reimported",
                changes=changes,
                actor=actor,
            )
            counts.updated += 1
        ids.append(row.id)
    session.flush()
    return ids


def iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
