"""Tip rows → API shapes (reviewer views and the public status). One place decides the wire."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...errors import NotFound
from ...models import Target
from ...models_tips import Tip
from ...schemas import tips as s
from ...schemas.common import ModelIdentity
from ...state import Services
from .. import audit
from ..present import audit_entry
from . import codes
from .state import TipState, state_of, states


def photo_url(tip_id: str, position: int) -> str:
    return f"/v1/tips/{tip_id}/photos/{position}"


def reward(tip: Tip) -> s.RewardOut | None:
    if tip.reward_decision is None:
        return None
    return s.RewardOut(
        decision=tip.reward_decision,  # type: ignore[arg-type]
        amount=tip.reward_amount,
        paid_on=tip.reward_paid_on,
        note=tip.reward_note,
        decided_by=tip.reward_decided_by,
        decided_at=tip.reward_decided_at,
    )


def tip(row: Tip, state: TipState) -> s.TipOut:
    model = (
        ModelIdentity(
            name=row.model_name, version=row.model_version or "", sha256=row.model_sha256 or ""
        )
        if row.model_name
        else None
    )
    return s.TipOut(
        id=row.id,
        code=row.code,
        received_at=row.received_at,
        observed_at=row.observed_at,
        observed_at_source=row.observed_at_source,
        location=s.TipLocation(
            lat=row.lat,
            lon=row.lon,
            accuracy_m=row.accuracy_m,
            source=row.location_source,
            photo_lat=row.photo_lat,
            photo_lon=row.photo_lon,
        ),
        place=row.place,
        description=row.description,
        contact=row.contact,
        verdict=row.verdict,
        combined=row.combined,
        model=model,
        photos=len(row.photos),
        group_id=row.group_id,
        group_reason=row.group_reason,
        triage=row.triage,  # type: ignore[arg-type]
        dismiss_reason=row.dismiss_reason,
        triage_note=row.triage_note,
        triaged_by=row.triaged_by,
        triaged_at=row.triaged_at,
        target_id=row.target_id,
        outcome=state.outcome,  # type: ignore[arg-type]
        first_check_at=state.first_check_at,
        reward=reward(row),
        version=row.version,
    )


def member(row: Tip, state: TipState) -> s.GroupMember:
    return s.GroupMember(
        id=row.id,
        code=row.code,
        received_at=row.received_at,
        verdict=row.verdict,
        triage=row.triage,
        outcome=state.outcome,  # type: ignore[arg-type]
        group_reason=row.group_reason,
    )


def detail(session: Session, row: Tip) -> s.TipDetail:
    group = list(session.scalars(select(Tip).where(Tip.group_id == row.group_id).order_by(Tip.seq)))
    found = states(session, [row, *group])
    target = (
        session.scalar(select(Target).where(Target.id == row.target_id)) if row.target_id else None
    )
    return s.TipDetail(
        **tip(row, found[row.id]).model_dump(),
        photo_list=[
            s.TipPhotoOut(
                position=p.position,
                url=photo_url(row.id, p.position),
                sha256=p.sha256,
                content_type=p.content_type,
                width=p.width,
                height=p.height,
                verdict=p.verdict,
                score=p.score,
                gps_lat=p.gps_lat,
                gps_lon=p.gps_lon,
                captured_at=p.captured_at,
            )
            for p in row.photos
        ],
        group=[member(m, found[m.id]) for m in group],
        target=(
            s.TargetBrief(
                id=target.id,
                issuer=target.issuer,
                issuer_id=target.issuer_id,
                name=target.name,
                status=target.status,
                unit=target.unit,
            )
            if target
            else None
        ),
        audit=[audit_entry(e) for e in audit.history(session, "tip", row.id)],
    )


def public_status(row: Tip, state: TipState) -> s.PublicStatus:
    """What the holder of the code and secret sees: phase, dates, reward. Nothing else."""
    decided = row.reward_decision
    show_reward = decided == "not_eligible" or (
        decided is not None and state.outcome == "confirmed"
    )
    return s.PublicStatus(
        code=row.code,
        phase=state.public_phase,  # type: ignore[arg-type]
        received_on=row.received_at.date(),
        reward=(
            s.PublicReward(
                decision=decided,  # type: ignore[arg-type]
                amount=row.reward_amount,
                paid_on=row.reward_paid_on,
            )
            if show_reward
            else None
        ),
    )


def status_for(services: Services, code: str, secret: str) -> s.PublicStatus:
    """The status a resident may see, or 404. An unknown code checks a dummy hash, so both
    failures cost the same work and codes cannot be probed by timing."""
    code = codes.normalise(code)
    secret = codes.normalise(secret)
    with services.db.read() as session:
        row = (
            session.scalar(select(Tip).where(Tip.code == code)) if codes.valid_code(code) else None
        )
        stored = row.secret_hash if row is not None else codes.DUMMY_HASH
        if not codes.verify_secret(secret, stored) or row is None:
            raise NotFound("no tip with this code and secret")
        return public_status(row, state_of(session, row))
