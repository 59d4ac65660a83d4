"""Coverage per unit over a date range: what the office reports up the chain.

Definitions (also in the API schema): inspections and their verdict / confirmation counts
are those the unit filed, observed in the range; targets are those assigned to the unit
(issued by the end of the range); a target counts as checked when any linked inspection was
observed in the range; plants and area eradicated count eradications *dated* in the range.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from ..models import Inspection, Target
from ..schemas.reports import CoverageReport, UnitCoverage
from ..vocab import ReviewState, TargetStatus

_CONFIRMED = (ReviewState.CONFIRMED_OPIUM_POPPY.value, ReviewState.CONFIRMED_CANNABIS.value)
_COUNTS = (
    "targets_assigned",
    "targets_checked",
    "targets_eradicated",
    "inspections",
    "suspected",
    "review",
    "confirmed",
    "plants_eradicated",
)


def _date_bounds(since: datetime | None, until: datetime | None) -> tuple[date | None, date | None]:
    """Inclusive start date, exclusive end date, for date columns."""
    start = since.date() if since else None
    end = None
    if until is not None:
        end = (
            until.date()
            if until.timetz().replace(tzinfo=None) == time(0)
            else until.date() + timedelta(days=1)
        )
    return start, end


def coverage(
    session: Session, since: datetime | None, until: datetime | None, units: tuple[str, ...]
) -> CoverageReport:
    stats: dict[str, dict[str, float]] = defaultdict(
        lambda: dict.fromkeys((*_COUNTS, "area_eradicated_m2"), 0)
    )

    observed = []
    if since is not None:
        observed.append(Inspection.observed_at >= since)
    if until is not None:
        observed.append(Inspection.observed_at < until)
    unit_filter = [Inspection.unit.in_(units)] if units else []
    rows = session.execute(
        select(Inspection.unit, Inspection.verdict, Inspection.review_state, func.count())
        .where(*observed, *unit_filter)
        .group_by(Inspection.unit, Inspection.verdict, Inspection.review_state)
    ).all()
    for unit, verdict, state, n in rows:
        entry = stats[unit]
        entry["inspections"] += n
        if verdict == "suspected":
            entry["suspected"] += n
        elif verdict == "review":
            entry["review"] += n
        if state in _CONFIRMED:
            entry["confirmed"] += n

    start, end = _date_bounds(since, until)
    dated = [Inspection.eradicated_on.is_not(None)]
    if start is not None:
        dated.append(Inspection.eradicated_on >= start)
    if end is not None:
        dated.append(Inspection.eradicated_on < end)
    for unit, plants, area in session.execute(
        select(
            Inspection.unit,
            func.coalesce(func.sum(Inspection.eradicated_plants), 0),
            func.coalesce(func.sum(Inspection.eradicated_area_m2), 0.0),
        )
        .where(*dated, *unit_filter)
        .group_by(Inspection.unit)
    ).all():
        stats[unit]["plants_eradicated"] += int(plants)
        stats[unit]["area_eradicated_m2"] += float(area)

    target_filter = [Target.unit.is_not(None)]
    if units:
        target_filter.append(Target.unit.in_(units))
    if end is not None:
        target_filter.append((Target.issued_on.is_(None)) | (Target.issued_on < end))
    for unit, status, n in session.execute(
        select(Target.unit, Target.status, func.count())
        .where(*target_filter)
        .group_by(Target.unit, Target.status)
    ).all():
        stats[unit]["targets_assigned"] += n
        if status == TargetStatus.ERADICATED.value:
            stats[unit]["targets_eradicated"] += n
    linked_in_range = and_(Inspection.target_id == Target.id, *observed)
    for unit, n in session.execute(
        select(Target.unit, func.count(func.distinct(Target.id)))
        .join(Inspection, linked_in_range)
        .where(*target_filter)
        .group_by(Target.unit)
    ).all():
        stats[unit]["targets_checked"] += n

    rows_out = [
        UnitCoverage(
            unit=unit,
            **{k: int(v) for k, v in values.items() if k != "area_eradicated_m2"},
            area_eradicated_m2=round(values["area_eradicated_m2"], 3),
        )
        for unit, values in sorted(stats.items())
    ]
    totals = UnitCoverage(
        unit="(all)",
        **{k: sum(getattr(r, k) for r in rows_out) for k in _COUNTS},
        area_eradicated_m2=round(sum(r.area_eradicated_m2 for r in rows_out), 3),
    )
    return CoverageReport(since=since, until=until, units=rows_out, totals=totals)
