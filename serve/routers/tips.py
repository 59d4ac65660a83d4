"""Tip-offs for reviewers: the triage queue (groups), one tip, its photos, turning it into a
survey target, dismissing it, the reward decision, and the office's numbers. HTTP only; the
work is in ``services/tips``. Tips come from the public, with optional contact details, so
every route needs the reviewer role (inspectors get 403).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Path, Query, Response
from fastapi.responses import FileResponse
from sqlalchemy.orm import Session

from ..deps import get_services, read_session, require_reviewer
from ..errors import NotFound, Unprocessable
from ..keys import Principal
from ..models import utcnow
from ..schemas.common import ERROR_RESPONSES, Page
from ..schemas.tips import (
    Dismissal,
    RewardDecision,
    TargetFromTip,
    TipDetail,
    TipGroup,
    TipsSummary,
)
from ..services.filters import decode_cursor, encode_cursor, parse_instant
from ..services.tips import queue, stats, triage
from ..services.tips.present import detail
from ..state import Services

router = APIRouter(prefix="/v1/tips", tags=["tips"], responses=ERROR_RESPONSES)
TipId = Annotated[str, Path(max_length=36)]
Triage = Literal["new", "targeted", "dismissed"]


@router.get("", response_model=Page[TipGroup], summary="The triage queue, one row per group")
def list_groups(
    triage: list[Triage] = Query(default=[], description="Groups with a tip in this state."),
    since: str | None = Query(None, description="Received at or after (date or time)."),
    until: str | None = Query(None, description="Received at or before."),
    cursor: str | None = Query(None),
    limit: int = Query(50, ge=1, le=200),
    _principal: Principal = Depends(require_reviewer),
    session: Session = Depends(read_session),
) -> Page[TipGroup]:
    """Newest activity first. A group is listed when one of its tips matches the filters;
    it is shown whole (every member, each with its own code and outcome)."""
    groups, last = queue.groups(
        session,
        triage=triage,
        since=parse_instant(since, "since"),
        until=parse_instant(until, "until", end=True),
        before=decode_cursor(cursor),
        limit=limit,
    )
    return Page[TipGroup](items=groups, next_cursor=encode_cursor(last) if last else None)


@router.get("/summary", response_model=TipsSummary, summary="Numbers for the office")
def summary(
    since: date | None = Query(None, description="First day (default: 12 weeks ago)."),
    until: date | None = Query(None, description="Last day (default: today, UTC)."),
    _principal: Principal = Depends(require_reviewer),
    session: Session = Depends(read_session),
) -> TipsSummary:
    """Tips per week, share confirmed, median time to the first ground check, rewards paid;
    the definitions come with the numbers."""
    until = until or utcnow().date()
    since = since or until - timedelta(weeks=12)
    if since > until:
        raise Unprocessable(f"since {since} is after until {until}")
    if (until - since).days > 3660:
        raise Unprocessable("a summary covers at most ten years")
    return stats.summary(session, since, until)


@router.get("/{tip_id}", response_model=TipDetail, summary="One tip, its photos, group, audit")
def get_tip(
    tip_id: TipId,
    response: Response,
    _principal: Principal = Depends(require_reviewer),
    session: Session = Depends(read_session),
) -> TipDetail:
    row = triage.get_tip(session, tip_id)
    response.headers["ETag"] = f'"{row.version}"'
    return detail(session, row)


@router.get(
    "/{tip_id}/photos/{position}",
    response_class=FileResponse,
    summary="A tip's original photo (reviewers only)",
    responses={200: {"content": {"image/jpeg": {}, "image/png": {}, "image/webp": {}}}},
)
def get_photo(
    tip_id: TipId,
    position: Annotated[int, Path(ge=0, le=99)],
    _principal: Principal = Depends(require_reviewer),
    services: Services = Depends(get_services),
    session: Session = Depends(read_session),
) -> FileResponse:
    row = triage.get_tip(session, tip_id)
    photo = next((p for p in row.photos if p.position == position), None)
    if photo is None:
        raise NotFound(f"tip {tip_id} has no photo {position}")
    return FileResponse(
        services.store.path_for(photo.sha256),
        media_type=photo.content_type,
        content_disposition_type="inline",
        filename=f"tip-{row.code}-{position}",
        headers={"Cache-Control": "private, max-age=31536000, immutable"},
    )


def _answer(services: Services, response: Response, tip_id: str) -> TipDetail:
    with services.db.read() as session:
        row = triage.get_tip(session, tip_id)
        response.headers["ETag"] = f'"{row.version}"'
        return detail(session, row)


@router.post("/{tip_id}/target", response_model=TipDetail, summary="Turn into a survey target")
def to_target(
    tip_id: TipId,
    body: TargetFromTip,
    response: Response,
    if_match: Annotated[str | None, Header(max_length=40)] = None,
    principal: Principal = Depends(require_reviewer),
    services: Services = Depends(get_services),
) -> TipDetail:
    """A new target at the tip's place (issuer ``tip-off``, id = the tip code), or a link to an
    existing one. Patrols check it like any target; its outcome flows back to the tip."""
    triage.to_target(services, principal, tip_id, body, if_match)
    return _answer(services, response, tip_id)


@router.post("/{tip_id}/dismiss", response_model=TipDetail, summary="Dismiss with a reason")
def dismiss(
    tip_id: TipId,
    body: Dismissal,
    response: Response,
    if_match: Annotated[str | None, Header(max_length=40)] = None,
    principal: Principal = Depends(require_reviewer),
    services: Services = Depends(get_services),
) -> TipDetail:
    triage.dismiss(services, principal, tip_id, body, if_match)
    return _answer(services, response, tip_id)


@router.put("/{tip_id}/reward", response_model=TipDetail, summary="Record the reward decision")
def reward(
    tip_id: TipId,
    body: RewardDecision,
    response: Response,
    if_match: Annotated[str | None, Header(max_length=40)] = None,
    principal: Principal = Depends(require_reviewer),
    services: Services = Depends(get_services),
) -> TipDetail:
    """Eligible (with the amount) only for a confirmed tip; paid only to whoever shows the
    tip's secret (``claim_secret``, checked and never stored); a paid reward is final."""
    triage.decide_reward(services, principal, tip_id, body, if_match)
    return _answer(services, response, tip_id)
