"""Season plans: which cells, sites and households a unit sweeps, how often, by when.

A plan belongs to (unit, season) and is written whole (``PUT``): campaigns with their own
dates — spring prevention, summer eradication — and items, each swept ``sweeps`` times on
different days between its start and due date (the campaign's, unless the item says).
``fill`` adds the top cells by priority and every past-offender household with its sites.
Everything is checked before anything is written: a cell outside the unit, an unknown site
or household, dates out of order, a campaign ending outside the season — each is a 422.
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import date, tzinfo
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ...db import Database
from ...errors import Conflict, NotFound, PreconditionFailed, Unprocessable
from ...keys import Principal
from ...models import Household, Plan, PlanItem, Site, utcnow
from ...schemas import planning as s
from .. import audit
from . import backtest, grid, priorities
from .common import check_unit_access, get_unit, unit_grid

MIN_SEASON, MAX_SEASON = 2000, 2100


def _problem(errors: list[dict[str, Any]], index: int | None, message: str) -> None:
    field = f"items.{index}" if index is not None else "campaigns"
    errors.append({"field": field, "message": message})


def _resolve(
    session: Session, unit: str, season: int, body: s.PlanIn, resolution: int
) -> list[dict[str, Any]]:
    unit_row = get_unit(session, unit)
    errors: list[dict[str, Any]] = []
    for c in body.campaigns:
        if c.ends_on.year != season:
            _problem(errors, None, f"campaign {c.key} ends on {c.ends_on}, not in season {season}")
        if c.starts_on.year < season - 1:
            _problem(errors, None, f"campaign {c.key} starts on {c.starts_on}, before {season - 1}")
    campaigns = {c.key: c for c in body.campaigns}
    cells = unit_grid(unit_row, resolution).cell_set
    sites = {
        key: site
        for site in session.scalars(select(Site).where(Site.unit == unit))
        for key in (site.id, site.external_id)
    }
    households = {
        key: h
        for h in session.scalars(select(Household).where(Household.unit == unit))
        for key in (h.id, h.external_id)
    }
    items: list[dict[str, Any]] = []
    for index, item in enumerate(body.items):
        campaign = campaigns[item.campaign]
        starts = item.starts_on or campaign.starts_on
        due = item.due_on or campaign.ends_on
        if due < starts:
            _problem(errors, index, f"{item.ref}: due_on {due} is before starts_on {starts}")
            continue
        ref, label = item.ref.strip(), None
        if item.kind == "cell":
            if not grid.is_cell(ref):
                _problem(errors, index, f"{ref!r} is not an H3 cell id")
                continue
            if grid.h3.get_resolution(ref) != resolution:
                _problem(
                    errors,
                    index,
                    f"cell {ref} is at resolution {grid.h3.get_resolution(ref)}; "
                    f"plans use {resolution}",
                )
                continue
            if ref not in cells:
                _problem(errors, index, f"cell {ref} is outside unit {unit!r}")
                continue
            label = ref
        elif item.kind == "site":
            site = sites.get(ref)
            if site is None:
                _problem(errors, index, f"unknown site {ref!r} in unit {unit!r}")
                continue
            ref, label = site.id, site.external_id
        else:
            household = households.get(ref)
            if household is None:
                _problem(errors, index, f"unknown household {ref!r} in unit {unit!r}")
                continue
            ref, label = household.id, household.external_id
        items.append(
            {
                "kind": item.kind,
                "ref": ref,
                "label": label,
                "campaign": item.campaign,
                "sweeps": item.sweeps,
                "starts_on": starts,
                "due_on": due,
                "note": item.note,
            }
        )
    keys = Counter((i["kind"], i["ref"], i["campaign"]) for i in items)
    twice = [k for k, n in keys.items() if n > 1]
    if twice:
        kind, _, campaign = twice[0]
        label = next(i["label"] for i in items if (i["kind"], i["ref"], i["campaign"]) == twice[0])
        errors.append(
            {"field": "items", "message": f"{kind} {label} is listed twice in campaign {campaign}"}
        )
    if errors:
        raise Unprocessable(
            f"the plan has {len(errors)} problem(s); first: {errors[0]['message']}. "
            "Nothing was saved.",
            details=errors[:50],
        )
    return items


def _fill(
    session: Session,
    unit: str,
    season: int,
    body: s.PlanIn,
    items: list[dict[str, Any]],
    resolution: int,
    zone: tzinfo,
) -> None:
    fill = body.fill
    assert fill is not None
    wanted = fill.campaigns or [c.key for c in body.campaigns]
    campaigns = {c.key: c for c in body.campaigns}
    have = {(i["kind"], i["ref"], i["campaign"]) for i in items}

    def add(kind: str, ref: str, label: str, sweeps: int, note: str) -> None:
        for key in wanted:
            if (kind, ref, key) in have:
                continue
            have.add((kind, ref, key))
            c = campaigns[key]
            items.append(
                {
                    "kind": kind,
                    "ref": ref,
                    "label": label,
                    "campaign": key,
                    "sweeps": sweeps,
                    "starts_on": c.starts_on,
                    "due_on": c.ends_on,
                    "note": note,
                }
            )

    ranked = priorities.priorities(session, unit, season, resolution=resolution, zone=zone).ranked
    for item in ranked[: backtest.top_n(len(ranked), fill.top_percent / 100)]:
        add("cell", item.cell, item.cell, fill.cell_sweeps, f"priority rank {item.rank}")
    offenders = list(
        session.scalars(
            select(Household).where(Household.unit == unit, Household.past_offender.is_(True))
        )
    )
    for h in offenders:
        add("household", h.id, h.external_id, fill.offender_sweeps, "past offender")
    offender_ids = {h.id for h in offenders}
    owned = [
        site
        for site in session.scalars(select(Site).where(Site.unit == unit).order_by(Site.seq))
        if site.household_id in offender_ids or site.offence_years
    ]
    for site in owned:
        add("site", site.id, site.external_id, fill.offender_sweeps, "past offender's site")


def put_plan(
    db: Database,
    principal: Principal,
    unit: str,
    season: int,
    body: s.PlanIn,
    *,
    resolution: int,
    zone: tzinfo,
    if_match: str | None = None,
) -> tuple[s.Plan, bool]:
    check_unit_access(principal, unit)
    if not MIN_SEASON <= season <= MAX_SEASON:
        raise Unprocessable(f"season must be a year in {MIN_SEASON}–{MAX_SEASON}")
    try:
        with db.write() as session:
            items = _resolve(session, unit, season, body, resolution)
            if body.fill is not None:
                _fill(session, unit, season, body, items, resolution, zone)
            plan = session.scalar(
                select(Plan).where(Plan.unit == unit, Plan.season == season).with_for_update()
            )
            created = plan is None
            campaigns = [c.model_dump(mode="json") for c in body.campaigns]
            counts = dict(Counter(i["kind"] for i in items))
            if plan is None:
                plan = Plan(
                    id=str(uuid.uuid4()),
                    unit=unit,
                    season=season,
                    name=body.name,
                    resolution=resolution,
                    campaigns=campaigns,
                    version=1,
                    created_by=principal.key_id,
                )
                session.add(plan)
                session.flush()
                action, changes = "created", {"season": season, "items": counts}
            else:
                if if_match is not None and if_match.strip().strip('"') != str(plan.version):
                    raise PreconditionFailed(
                        f"the plan changed since you read it (now version {plan.version})"
                    )
                old = dict(
                    Counter(
                        session.scalars(select(PlanItem.kind).where(PlanItem.plan_id == plan.id))
                    )
                )
                session.execute(delete(PlanItem).where(PlanItem.plan_id == plan.id))
                changes = audit.diff(
                    {"name": plan.name, "campaigns": plan.campaigns, "items": old},
                    {"name": body.name, "campaigns": campaigns, "items": counts},
                )
                plan.name, plan.campaigns, plan.resolution = body.name, campaigns, resolution
                plan.version += 1
                plan.updated_at = utcnow()
                action = "replaced"
            for item in items:
                session.add(
                    PlanItem(plan_id=plan.id, **{k: v for k, v in item.items() if k != "label"})
                )
            audit.record(
                session,
                entity="plan",
                entity_id=plan.id,
                action=action,
                changes=changes,
                actor=principal,
            )
            session.flush()
            return present(session, plan), created
    except IntegrityError:
        raise Conflict("the plan was saved by someone else at the same time; retry") from None


def get_plan(session: Session, principal: Principal, unit: str, season: int) -> Plan:
    check_unit_access(principal, unit)
    plan = session.scalar(select(Plan).where(Plan.unit == unit, Plan.season == season))
    if plan is None:
        raise NotFound(f"unit {unit!r} has no plan for {season}")
    return plan


def plan_items(session: Session, plan: Plan) -> list[PlanItem]:
    return list(
        session.scalars(select(PlanItem).where(PlanItem.plan_id == plan.id).order_by(PlanItem.id))
    )


def labels(session: Session, items: list[PlanItem]) -> dict[tuple[str, str], str]:
    site_ids = [i.ref for i in items if i.kind == "site"]
    household_ids = [i.ref for i in items if i.kind == "household"]
    out: dict[tuple[str, str], str] = {}
    if site_ids:
        for sid, ext in session.execute(
            select(Site.id, Site.external_id).where(Site.id.in_(site_ids))
        ).all():
            out[("site", sid)] = ext
    if household_ids:
        for hid, ext in session.execute(
            select(Household.id, Household.external_id).where(Household.id.in_(household_ids))
        ).all():
            out[("household", hid)] = ext
    return out


def present(session: Session, plan: Plan) -> s.Plan:
    items = plan_items(session, plan)
    names = labels(session, items)
    return s.Plan(
        id=plan.id,
        unit=plan.unit,
        season=plan.season,
        name=plan.name,
        resolution=plan.resolution,
        campaigns=[s.Campaign(**c) for c in plan.campaigns],
        items=[
            s.PlanItem(
                kind=i.kind,
                ref=i.ref,
                label=i.ref if i.kind == "cell" else names.get((i.kind, i.ref)),
                campaign=i.campaign,
                sweeps=i.sweeps,
                starts_on=i.starts_on,
                due_on=i.due_on,
                note=i.note,
            )
            for i in items
        ],
        counts=dict(Counter(i.kind for i in items)),
        version=plan.version,
        created_at=plan.created_at,
        updated_at=plan.updated_at,
    )


def summary(session: Session, plan: Plan) -> s.PlanSummary:
    counts = dict(
        Counter(session.scalars(select(PlanItem.kind).where(PlanItem.plan_id == plan.id)))
    )
    return s.PlanSummary(
        id=plan.id,
        unit=plan.unit,
        season=plan.season,
        name=plan.name,
        campaigns=[s.Campaign(**c) for c in plan.campaigns],
        counts=counts,
        version=plan.version,
        updated_at=plan.updated_at,
    )


def campaign_window(plan: Plan, key: str) -> tuple[date, date]:
    for c in plan.campaigns:
        if c["key"] == key:
            return date.fromisoformat(c["starts_on"]), date.fromisoformat(c["ends_on"])
    raise Unprocessable(
        f"the {plan.season} plan of {plan.unit!r} has no campaign {key!r}",
        details=[{"field": "campaign", "message": "unknown campaign"}],
    )


def plan_span(plan: Plan) -> tuple[date, date]:
    starts = [date.fromisoformat(c["starts_on"]) for c in plan.campaigns]
    ends = [date.fromisoformat(c["ends_on"]) for c in plan.campaigns]
    return min(starts), max(ends)
