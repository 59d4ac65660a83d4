"""The inspection and target filters shared by the lists, the exports and the reports, and
the cursor.

Lists are ordered newest first by ``seq`` and paged by keyset (``seq < cursor``), so a page
never repeats or skips a record while new ones arrive, and deep pages cost the same as the
first. The cursor is opaque to clients; a forged or mangled one is a 422.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from fastapi import Depends, Query
from sqlalchemy import Select

from ..bounds import EARLIEST, LATEST, MAX_SEQ, clamp_instant
from ..deps import require_inspector
from ..errors import Forbidden, Unprocessable
from ..keys import Principal
from ..models import Inspection, Target
from ..vocab import VERDICTS, ReviewState, Role, TargetStatus


@dataclass(frozen=True)
class InspectionFilter:
    units: tuple[str, ...] = ()
    verdicts: tuple[str, ...] = ()
    review_states: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None  # exclusive
    bbox: tuple[float, float, float, float] | None = None  # min_lon, min_lat, max_lon, max_lat
    target_id: str | None = None
    inspector: str | None = None

    def apply(self, query: Select) -> Select:
        if self.units:
            query = query.where(Inspection.unit.in_(self.units))
        if self.verdicts:
            query = query.where(Inspection.verdict.in_(self.verdicts))
        if self.review_states:
            query = query.where(Inspection.review_state.in_(self.review_states))
        if self.since is not None:
            query = query.where(Inspection.observed_at >= self.since)
        if self.until is not None:
            query = query.where(Inspection.observed_at < self.until)
        if self.bbox is not None:
            min_lon, min_lat, max_lon, max_lat = self.bbox
            query = query.where(Inspection.lat.between(min_lat, max_lat))
            if min_lon <= max_lon:
                query = query.where(Inspection.lon.between(min_lon, max_lon))
            else:  # the box crosses the antimeridian (RFC 7946 §5.2)
                query = query.where((Inspection.lon >= min_lon) | (Inspection.lon <= max_lon))
        if self.target_id is not None:
            query = query.where(Inspection.target_id == self.target_id)
        if self.inspector is not None:
            query = query.where(Inspection.inspector == self.inspector)
        return query


def parse_instant(value: str | None, name: str, *, end: bool = False) -> datetime | None:
    """ISO date or datetime. A bare date means the whole day: ``until`` covers it entirely.

    Datetimes without an offset are taken as UTC. The answer is aware but not converted to
    UTC yet (``0001-01-01T00:00+05:00`` has no UTC value): :func:`parse_range` bounds it.
    """
    if value is None or value == "":
        return None
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            if end:
                if day >= LATEST.date():
                    return LATEST  # the day after would overflow; nothing is stored there
                day += timedelta(days=1)
            return datetime.combine(day, time(0), UTC)
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise Unprocessable(
            f"{name} must be an ISO 8601 date or datetime, not {value!r}",
            details=[{"field": name, "message": "not an ISO 8601 date or datetime"}],
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_range(since: str | None, until: str | None) -> tuple[datetime | None, datetime | None]:
    """``since`` (inclusive) and ``until`` (exclusive; a bare date includes its day), in UTC.

    Bounds beyond the range the service stores are clamped to it (or dropped, at its outer
    edges): every stored time lies inside, so the same records match, and year 1 or 9999
    with an offset no longer overflows on the way to the database.
    """
    start, stop = parse_instant(since, "since"), parse_instant(until, "until", end=True)
    if start and stop and start >= stop:
        raise Unprocessable("since must be before until")
    start = None if start is None or start <= EARLIEST else clamp_instant(start)
    stop = None if stop is None or stop >= LATEST else clamp_instant(stop)
    return start, stop


def parse_bbox(value: str | None) -> tuple[float, float, float, float] | None:
    if not value:
        return None
    try:
        parts = tuple(float(p) for p in value.split(","))
    except ValueError:
        parts = ()
    message = "bbox must be min_lon,min_lat,max_lon,max_lat (WGS 84 degrees)"
    if len(parts) != 4:
        raise Unprocessable(message, details=[{"field": "bbox", "message": message}])
    min_lon, min_lat, max_lon, max_lat = parts
    if not (-180 <= min_lon <= 180 and -180 <= max_lon <= 180):
        raise Unprocessable(message, details=[{"field": "bbox", "message": "lon out of range"}])
    if not (-90 <= min_lat <= max_lat <= 90):
        raise Unprocessable(message, details=[{"field": "bbox", "message": "lat out of range"}])
    return parts  # type: ignore[return-value]


def scoped_units(principal: Principal, requested: list[str]) -> tuple[str, ...]:
    """Inspectors see only their unit; asking for another one is a 403, not an empty list."""
    if principal.role.allows(Role.REVIEWER):
        return tuple(requested)
    assert principal.unit is not None
    others = [u for u in requested if u != principal.unit]
    if others:
        raise Forbidden(
            f"an inspector key of unit {principal.unit!r} cannot see unit {others[0]!r}"
        )
    return (principal.unit,)


def inspection_filter(
    principal: Principal = Depends(require_inspector),
    unit: list[str] = Query(default=[], description="Units (repeat for several)."),
    verdict: list[str] = Query(default=[], description="suspected, review, clear, unusable."),
    review_state: list[ReviewState] = Query(default=[]),
    since: str | None = Query(None, description="Observed at or after (ISO date/datetime)."),
    until: str | None = Query(None, description="Observed before; a bare date includes it."),
    bbox: str | None = Query(None, description="min_lon,min_lat,max_lon,max_lat"),
    target_id: str | None = Query(None, max_length=36),
    inspector: str | None = Query(None, max_length=100),
) -> InspectionFilter:
    bad = [v for v in verdict if v not in VERDICTS]
    if bad:
        raise Unprocessable(
            f"verdict {bad[0]!r} is not one of {', '.join(VERDICTS)}",
            details=[{"field": "verdict", "message": f"unknown verdict {bad[0]!r}"}],
        )
    start, stop = parse_range(since, until)
    return InspectionFilter(
        units=scoped_units(principal, unit),
        verdicts=tuple(verdict),
        review_states=tuple(s.value for s in review_state),
        since=start,
        until=stop,
        bbox=parse_bbox(bbox),
        target_id=target_id,
        inspector=inspector,
    )


@dataclass(frozen=True)
class TargetFilter:
    """The target filters shared by the list and the exports."""

    own_unit: str | None  # inspectors: their unit's targets and unassigned ones
    statuses: tuple[str, ...] = ()
    units: tuple[str, ...] = ()
    issuer: str | None = None
    bbox: tuple[float, float, float, float] | None = None

    def apply(self, query: Select) -> Select:
        if self.own_unit is not None:
            query = query.where((Target.unit == self.own_unit) | Target.unit.is_(None))
        if self.statuses:
            query = query.where(Target.status.in_(self.statuses))
        if self.units:
            query = query.where(Target.unit.in_(self.units))
        if self.issuer:
            query = query.where(Target.issuer == self.issuer)
        if self.bbox is not None:
            min_lon, min_lat, max_lon, max_lat = self.bbox
            query = query.where(
                Target.max_lat >= min_lat,
                Target.min_lat <= max_lat,
                Target.max_lon >= min_lon,
                Target.min_lon <= max_lon,
            )
        return query


def target_filter(
    principal: Principal = Depends(require_inspector),
    status: list[TargetStatus] = Query(default=[]),
    unit: list[str] = Query(default=[]),
    issuer: str | None = Query(None, max_length=100),
    bbox: str | None = Query(None, description="min_lon,min_lat,max_lon,max_lat"),
) -> TargetFilter:
    box = parse_bbox(bbox)
    if box is not None and box[0] > box[2]:
        raise Unprocessable("target bbox filters cannot cross the antimeridian")
    return TargetFilter(
        own_unit=None if principal.role.allows(Role.REVIEWER) else principal.unit,
        statuses=tuple(s.value for s in status),
        units=tuple(unit),
        issuer=issuer,
        bbox=box,
    )


def encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"v1:{seq}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int | None:
    if not cursor:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        version, _, number = text.partition(":")
        if version != "v1":
            raise ValueError
        if not number.isdigit() or len(number) > 19:
            raise ValueError
        seq = int(number)
        if not 1 <= seq <= MAX_SEQ:  # a keyset position is a 64-bit sequence number
            raise ValueError
        return seq
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise Unprocessable(
            "cursor is not one this service issued",
            details=[{"field": "cursor", "message": "invalid cursor"}],
        ) from None
