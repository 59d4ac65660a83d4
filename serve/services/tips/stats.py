"""Numbers for the office that runs the campaign: tips per week, share confirmed, time to the
first check on the ground, rewards paid.

Definitions (also returned with every summary, so a printed report carries them):

- weeks are ISO weeks (Monday first) of the UTC receipt date;
- tips received in the period are a **cohort**: their outcome (confirmed / not confirmed) is
  their state *now*, so a late week's share still grows as patrols catch up;
- share confirmed = confirmed / (confirmed + not confirmed); tips still being checked or never
  triaged are in neither; dismissed tips count as not confirmed;
- time to first check: from receipt to the first inspection linked to the tip's target observed
  at or after receipt (median over tips that have one); time to triage: from receipt to the
  reviewer's decision (tips that joined an already targeted group are left out);
- rewards paid: payments dated in the period, whichever week the tip arrived.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ...models import Target
from ...models_tips import Tip
from ...schemas.tips import TipsSummary, Totals, WeekRow
from .state import TipState, states

DEFINITIONS = {
    "week": "ISO week (Monday) of the UTC date the tip was received",
    "cohort": "tips received in the period, with their outcome as it stands now",
    "share_confirmed": "confirmed / (confirmed + not confirmed); dismissed counts as not "
    "confirmed; tips being checked or not triaged are left out",
    "first_check": "receipt to the first inspection linked to the tip's target observed at "
    "or after receipt (median, hours)",
    "triage": "receipt to the reviewer's decision (median, hours); tips that joined an "
    "already targeted group are left out",
    "rewards_paid": "payments dated in the period (yuan)",
}


def _hours(delta: timedelta) -> float:
    return delta.total_seconds() / 3600


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 2) if values else None


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _bounds(since: date, until: date) -> tuple[datetime, datetime]:
    return (
        datetime.combine(since, time.min, tzinfo=UTC),
        datetime.combine(until + timedelta(days=1), time.min, tzinfo=UTC),
    )


def _decided(state: TipState) -> str | None:
    if state.outcome == "confirmed":
        return "confirmed"
    if state.outcome in ("not_confirmed", "dismissed"):
        return "not_confirmed"
    return None


def summary(
    session: Session, since: date, until: date, *, units: list[str] | None = None
) -> TipsSummary:
    """The numbers for tips received (and rewards paid) from ``since`` to ``until``.

    ``units``: only tips turned into targets assigned to these units (a unit's own report);
    None: every tip (the whole office).
    """
    start, end = _bounds(since, until)
    scope = (
        []
        if units is None
        else [Tip.target_id.in_(select(Target.id).where(Target.unit.in_(units)))]
    )
    tips = list(
        session.scalars(
            select(Tip)
            .where(Tip.received_at >= start, Tip.received_at < end, *scope)
            .order_by(Tip.seq)
        )
    )
    found = states(session, tips)
    paid = list(
        session.execute(
            select(Tip.reward_paid_on, Tip.reward_amount).where(
                Tip.reward_paid_on >= since, Tip.reward_paid_on <= until, *scope
            )
        )
    )
    weeks: dict[date, dict] = defaultdict(
        lambda: {"tips": [], "paid": 0, "amount": 0}  # type: ignore[dict-item]
    )
    for tip in tips:
        weeks[_monday(tip.received_at.date())]["tips"].append(tip)
    for paid_on, amount in paid:
        week = weeks[_monday(paid_on)]
        week["paid"] += 1
        week["amount"] += amount or 0
    rows = []
    for monday in sorted(weeks):
        members = weeks[monday]["tips"]
        decided = [_decided(found[t.id]) for t in members]
        checks = [
            _hours(found[t.id].first_check_at - t.received_at)
            for t in members
            if found[t.id].first_check_at is not None
        ]
        rows.append(
            WeekRow(
                week=monday,
                received=len(members),
                new_groups=sum(1 for t in members if t.group_id == t.id),
                confirmed=decided.count("confirmed"),
                not_confirmed=decided.count("not_confirmed"),
                median_hours_to_first_check=_median(checks),
                rewards_paid=weeks[monday]["paid"],
                reward_amount_paid=weeks[monday]["amount"],
            )
        )
    return TipsSummary(
        since=since,
        until=until,
        weeks=rows,
        totals=totals(tips, found, paid),
        definitions=DEFINITIONS,
    )


def totals(
    tips: list[Tip], found: dict[str, TipState], paid: list[tuple[date, int | None]]
) -> Totals:
    decided = [_decided(found[t.id]) for t in tips]
    confirmed, not_confirmed = decided.count("confirmed"), decided.count("not_confirmed")
    triage = [
        _hours(t.triaged_at - t.received_at)
        for t in tips
        if t.triaged_at is not None and t.triaged_by is not None
    ]
    checks = [
        _hours(found[t.id].first_check_at - t.received_at)  # type: ignore[operator]
        for t in tips
        if found[t.id].first_check_at is not None
    ]
    both = confirmed + not_confirmed
    return Totals(
        received=len(tips),
        groups=len({t.group_id for t in tips}),
        triaged=sum(1 for t in tips if t.triage != "new"),
        confirmed=confirmed,
        not_confirmed=not_confirmed,
        share_confirmed=round(confirmed / both, 4) if both else None,
        median_hours_to_triage=_median(triage),
        median_hours_to_first_check=_median(checks),
        rewards_eligible=sum(1 for t in tips if t.reward_decision == "eligible"),
        rewards_paid=len(paid),
        reward_amount_paid=sum(amount or 0 for _, amount in paid),
    )


def all_time(session: Session) -> Totals:
    """Every tip ever received (for ``/metrics``)."""
    tips = list(session.scalars(select(Tip)))
    paid = list(
        session.execute(
            select(Tip.reward_paid_on, Tip.reward_amount).where(Tip.reward_paid_on.is_not(None))
        )
    )
    return totals(tips, states(session, tips), paid)


def received_since(session: Session, *, days: int) -> int:
    start = datetime.now(UTC) - timedelta(days=days)
    return session.scalar(select(func.count()).select_from(Tip).where(Tip.received_at >= start))
