"""The reviewers' triage queue: tips listed by group, newest activity first.

A group is listed when any of its tips matches the filters (so a new report about a spot that
was dismissed last week brings the whole group back into the "new" queue), and is always shown
whole. Pages are keyed by the newest matching tip's ``seq``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ...models_tips import Tip
from ...schemas.tips import TipGroup
from .present import member, tip
from .state import states


def groups(
    session: Session,
    *,
    triage: list[str],
    since: datetime | None,
    until: datetime | None,
    before: int | None,
    limit: int,
) -> tuple[list[TipGroup], int | None]:
    """One page of groups, and the cursor value for the next page (None at the end)."""
    last = func.max(Tip.seq).label("last")
    query = select(Tip.group_id, last).group_by(Tip.group_id)
    if triage:
        query = query.where(Tip.triage.in_(triage))
    if since is not None:
        query = query.where(Tip.received_at >= since)
    if until is not None:
        query = query.where(Tip.received_at < until)
    if before is not None:
        query = query.having(func.max(Tip.seq) < before)
    rows = session.execute(query.order_by(last.desc()).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    ids = [r[0] for r in rows]
    members: dict[str, list[Tip]] = {group_id: [] for group_id in ids}
    if ids:
        for row in session.scalars(select(Tip).where(Tip.group_id.in_(ids)).order_by(Tip.seq)):
            members[row.group_id].append(row)
    found = states(session, [t for group in members.values() for t in group])
    page = []
    for group_id in ids:
        group = members[group_id]
        lead = next((t for t in group if t.id == group_id), group[0])
        page.append(
            TipGroup(
                group_id=group_id,
                size=len(group),
                latest_received_at=max(t.received_at for t in group),
                lead=tip(lead, found[lead.id]),
                members=[member(t, found[t.id]) for t in group],
            )
        )
    return page, (rows[-1][1] if more and rows else None)
