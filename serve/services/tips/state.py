"""A tip's outcome, derived from the survey target it was turned into — never copied.

- ``dismissed``: a reviewer dismissed it (the tipster sees "not confirmed");
- ``received``: not triaged yet;
- ``checking``: linked to a target whose ground check has not decided it;
- ``confirmed``: the target was eradicated, or an inspection linked to it was reviewed as
  opium poppy or cannabis;
- ``not_confirmed``: the target was cleared (every linked inspection reviewed, none confirmed).

``first_check_at`` is the observation time of the first inspection linked to the target at or
after the tip arrived (an older inspection of a known spot is not a response to the tip).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...models import Inspection, Target
from ...models_tips import Tip
from ...vocab import ReviewState, TargetStatus

_CONFIRMED = (ReviewState.CONFIRMED_OPIUM_POPPY.value, ReviewState.CONFIRMED_CANNABIS.value)
PUBLIC_PHASE = {
    "received": "received",
    "checking": "checking",
    "confirmed": "confirmed",
    "not_confirmed": "not_confirmed",
    "dismissed": "not_confirmed",
}


@dataclass(frozen=True)
class TipState:
    outcome: str
    first_check_at: datetime | None

    @property
    def public_phase(self) -> str:
        return PUBLIC_PHASE[self.outcome]


def states(session: Session, tips: Iterable[Tip]) -> dict[str, TipState]:
    """Outcome and first check of each tip, in three queries whatever the number of tips."""
    tips = list(tips)
    target_ids = sorted({t.target_id for t in tips if t.target_id})
    status: dict[str, str] = {}
    checks: dict[str, list[tuple[datetime, str]]] = defaultdict(list)
    for start in range(0, len(target_ids), 500):
        chunk = target_ids[start : start + 500]
        status.update(
            session.execute(select(Target.id, Target.status).where(Target.id.in_(chunk))).all()
        )
        for target_id, observed_at, review_state in session.execute(
            select(Inspection.target_id, Inspection.observed_at, Inspection.review_state).where(
                Inspection.target_id.in_(chunk)
            )
        ):
            checks[target_id].append((observed_at, review_state))
    result: dict[str, TipState] = {}
    for tip in tips:
        linked = checks.get(tip.target_id or "", [])
        after = [at for at, _ in linked if at >= tip.received_at]
        first = min(after) if after else None
        if tip.triage == "dismissed":
            outcome = "dismissed"
        elif tip.target_id is None:
            outcome = "received"
        else:
            target_status = status.get(tip.target_id)
            if target_status == TargetStatus.ERADICATED.value or any(
                state in _CONFIRMED for _, state in linked
            ):
                outcome = "confirmed"
            elif target_status == TargetStatus.CLEARED.value:
                outcome = "not_confirmed"
            else:
                outcome = "checking"
        result[tip.id] = TipState(outcome, first)
    return result


def state_of(session: Session, tip: Tip) -> TipState:
    return states(session, [tip])[tip.id]
