"""Near-duplicate tips are grouped, not multiplied.

A tip joins the group of an earlier tip that carries **the same photo** (same sha256, at any
time: one photo flood-reported a hundred times is one group of a hundred, and one file in the
store), else of the nearest earlier tip **within ``tips_group_radius_m`` received within
``tips_group_window_h``** (neighbours reporting the same field), else it starts its own group
(``group_id`` = its own id). Reviewers triage a group at once; each tip keeps its own code,
so every tipster can follow and claim.

A tip joining a group that was already turned into a survey target is linked to that target at
once (its outcome then flows from the same ground check).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ... import geo
from ...models_tips import Tip, TipPhoto
from ...settings import Settings


def assign_group(
    session: Session, tip: Tip, digests: list[str], settings: Settings, now: datetime
) -> None:
    """Set ``tip.group_id`` / ``group_reason`` (and a target link inherited from the group)."""
    tip.group_id, tip.group_reason = tip.id, None
    if digests:
        row = session.execute(
            select(Tip.group_id)
            .join(TipPhoto, TipPhoto.tip_id == Tip.id)
            .where(TipPhoto.sha256.in_(digests))
            .order_by(Tip.seq)
            .limit(1)
        ).first()
        if row is not None:
            tip.group_id, tip.group_reason = row[0], "photo"
    if tip.group_reason is None and tip.lat is not None and tip.lon is not None:
        radius = settings.tips_group_radius_m
        min_lat, min_lon, max_lat, max_lon = geo.degrees_box(tip.lat, tip.lon, radius)
        since = now - timedelta(hours=settings.tips_group_window_h)
        best: tuple[float, str] | None = None
        for lat, lon, group_id in session.execute(
            select(Tip.lat, Tip.lon, Tip.group_id).where(
                Tip.lat.between(min_lat, max_lat),
                Tip.lon.between(min_lon, max_lon),
                Tip.received_at >= since,
            )
        ):
            distance = geo.haversine_m(tip.lat, tip.lon, lat, lon)
            if distance <= radius and (best is None or distance < best[0]):
                best = (distance, group_id)
        if best is not None:
            tip.group_id, tip.group_reason = best[1], "place"
    if tip.group_id != tip.id:
        _inherit_target(session, tip, now)


def _inherit_target(session: Session, tip: Tip, now: datetime) -> None:
    target_id = session.scalar(
        select(Tip.target_id)
        .where(Tip.group_id == tip.group_id, Tip.triage == "targeted", Tip.target_id.is_not(None))
        .order_by(Tip.seq.desc())
        .limit(1)
    )
    if target_id is not None:
        tip.target_id = target_id
        tip.triage = "targeted"
        tip.triaged_at = now
        tip.triage_note = "joined a group already turned into a target"
