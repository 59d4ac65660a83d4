"""What reviewers do with tips: turn them into a survey target, dismiss them, decide rewards.

Every change is audited (entity ``tip``: who, when, old → new) and bumps the tip's version,
so ``If-Match`` refuses a stale change with 412. Triage applies to the tip's whole group by
default (one spot, many reports); rewards are decided per tip (per tipster).

A target made from a tip is an ordinary survey target (issuer ``tip-off``, the issuer's id is
the tip's code): patrols see it among their targets, check it on the ground, and its derived
status flows back to the tip (see ``state.py``). A reward can be marked paid only to someone
who shows the tip's secret; the secret is checked against its hash and never stored or logged.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...errors import Conflict, NotFound, PreconditionFailed, Unprocessable
from ...keys import Principal
from ...models import Target, utcnow
from ...models_tips import Tip
from ...schemas.tips import Dismissal, RewardDecision, TargetFromTip
from ...state import Services
from .. import audit
from .. import targets as target_service
from ..target_files import TargetRow
from . import codes
from .state import state_of, states

TIP_ISSUER = "tip-off"


def get_tip(session: Session, tip_id: str, *, lock: bool = False) -> Tip:
    query = select(Tip).where(Tip.id == tip_id)
    tip = session.scalar(query.with_for_update() if lock else query)
    if tip is None:
        raise NotFound(f"no tip {tip_id!r}")
    return tip


def _check_version(tip: Tip, if_match: str | None) -> None:
    if if_match is not None and if_match.strip().strip('"') != str(tip.version):
        raise PreconditionFailed(f"the tip changed (version {tip.version}); reload it and retry")


def _members(session: Session, tip: Tip, scope: str) -> list[Tip]:
    if scope == "tip":
        return [tip]
    rows = list(
        session.scalars(
            select(Tip).where(Tip.group_id == tip.group_id).order_by(Tip.seq).with_for_update()
        )
    )
    return rows or [tip]


def _snapshot(tip: Tip, fields: tuple[str, ...]) -> dict[str, Any]:
    return {name: getattr(tip, name) for name in fields}


_TRIAGE_FIELDS = ("triage", "target_id", "dismiss_reason", "triage_note")
_REWARD_FIELDS = ("reward_decision", "reward_amount", "reward_paid_on", "reward_note")


def _save(
    session: Session,
    tip: Tip,
    before: dict[str, Any],
    fields: tuple[str, ...],
    principal: Principal,
    action: str,
    extra: dict[str, Any] | None = None,
) -> None:
    changes: dict[str, Any] = audit.diff(before, _snapshot(tip, fields))
    if not changes:
        return
    tip.version += 1
    tip.updated_at = utcnow()
    audit.record(
        session,
        entity="tip",
        entity_id=tip.id,
        action=action,
        changes={**changes, **(extra or {})},
        actor=principal,
    )


def _new_target(session: Session, tip: Tip, body: TargetFromTip, size: int, principal) -> str:
    if tip.lat is None or tip.lon is None:
        raise Unprocessable(
            "this tip has no location: link an existing target (target_id) instead",
            details=[{"field": "target_id", "message": "needed for a tip without a location"}],
        )
    row = TargetRow(
        issuer_id=tip.code,
        geometry={"type": "Point", "coordinates": [tip.lon, tip.lat]},
        name=body.name or f"举报 {codes.group(tip.code)}",
        notes=body.notes or tip.place,
        issued_on=utcnow().date(),
        due_on=body.due_on,
        unit=body.unit,
        properties={"tip_code": tip.code, "tips_in_group": size},
    )
    counts = target_service.import_targets(session, TIP_ISSUER, [row], principal)
    return counts.ids[0]


def to_target(
    services: Services, principal: Principal, tip_id: str, body: TargetFromTip, if_match: str | None
) -> Tip:
    """Link the tip (its group by default) to a new target at its place, or an existing one."""
    with services.db.write() as session:
        tip = get_tip(session, tip_id, lock=True)
        _check_version(tip, if_match)
        members = _members(session, tip, body.scope)
        if body.target_id is not None:
            target = session.scalar(select(Target).where(Target.id == body.target_id))
            if target is None:
                raise Unprocessable(
                    f"target_id {body.target_id!r} is not a known target",
                    details=[{"field": "target_id", "message": "unknown target"}],
                )
            target_id = target.id
        else:
            target_id = _new_target(session, tip, body, len(members), principal)
        now = utcnow()
        for member in members:
            before = _snapshot(member, _TRIAGE_FIELDS)
            member.triage = "targeted"
            member.target_id = target_id
            member.dismiss_reason = None
            member.triage_note = body.notes
            member.triaged_by, member.triaged_at = principal.name, now
            _save(session, member, before, _TRIAGE_FIELDS, principal, "targeted")
    with services.db.read() as session:
        return get_tip(session, tip_id)


def dismiss(
    services: Services, principal: Principal, tip_id: str, body: Dismissal, if_match: str | None
) -> Tip:
    """Close the tip (its group by default) with a reason; a confirmed tip cannot be."""
    with services.db.write() as session:
        tip = get_tip(session, tip_id, lock=True)
        _check_version(tip, if_match)
        members = _members(session, tip, body.scope)
        found = states(session, members)
        confirmed = [m.code for m in members if found[m.id].outcome == "confirmed"]
        if confirmed:
            raise Unprocessable(
                f"tip {confirmed[0]} was confirmed on the ground and cannot be dismissed"
            )
        now = utcnow()
        for member in members:
            before = _snapshot(member, _TRIAGE_FIELDS)
            member.triage = "dismissed"
            member.dismiss_reason = body.reason
            member.triage_note = body.note
            member.triaged_by, member.triaged_at = principal.name, now
            _save(session, member, before, _TRIAGE_FIELDS, principal, "dismissed")
    with services.db.read() as session:
        return get_tip(session, tip_id)


def decide_reward(
    services: Services,
    principal: Principal,
    tip_id: str,
    body: RewardDecision,
    if_match: str | None,
) -> Tip:
    """Record eligible (amount) / not eligible, and payment to whoever shows the secret."""
    with services.db.write() as session:
        tip = get_tip(session, tip_id, lock=True)
        _check_version(tip, if_match)
        if tip.reward_paid_on is not None:
            raise Conflict(
                f"the reward of tip {tip.code} was paid on {tip.reward_paid_on}; it is final"
            )
        outcome = state_of(session, tip).outcome
        extra: dict[str, Any] = {}
        if body.decision == "eligible":
            if outcome != "confirmed":
                raise Unprocessable(
                    f"only a confirmed tip can earn a reward; this one is {outcome}",
                    details=[{"field": "decision", "message": "the tip is not confirmed"}],
                )
            if body.amount is None:
                raise Unprocessable(
                    "an eligible reward needs its amount (yuan)",
                    details=[{"field": "amount", "message": "required when eligible"}],
                )
        elif body.amount is not None or body.paid_on is not None:
            raise Unprocessable(
                "a tip that is not eligible has no amount and no payment",
                details=[{"field": "decision", "message": "not_eligible takes no amount"}],
            )
        if body.paid_on is not None:
            if body.paid_on > utcnow().date() + timedelta(days=1):
                raise Unprocessable(
                    f"paid_on {body.paid_on} is in the future",
                    details=[{"field": "paid_on", "message": "in the future"}],
                )
            presented = codes.normalise(body.claim_secret or "")
            if not presented or not codes.verify_secret(presented, tip.secret_hash):
                raise Unprocessable(
                    "the claimant's secret does not match this tip; nothing was recorded",
                    details=[{"field": "claim_secret", "message": "does not match"}],
                )
            extra["claim_verified"] = True
        before = _snapshot(tip, _REWARD_FIELDS)
        tip.reward_decision = body.decision
        tip.reward_amount = body.amount
        tip.reward_paid_on = body.paid_on
        tip.reward_note = body.note
        if audit.diff(before, _snapshot(tip, _REWARD_FIELDS)):
            tip.reward_decided_by, tip.reward_decided_at = principal.name, utcnow()
        _save(session, tip, before, _REWARD_FIELDS, principal, "reward", extra)
    with services.db.read() as session:
        return get_tip(session, tip_id)
