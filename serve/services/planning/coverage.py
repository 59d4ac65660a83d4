"""Coverage of a unit over a window: planned vs covered cells, sites and households, the blind
spots left, repeat sweeps behind, and survey targets checked within their deadline.

What is planned comes from the unit's season plan; a plan that lists no cells (or no sites,
no households) — or no plan at all — plans the whole jurisdiction: every cell, every site,
every household ("leave no blind spot"). A household is covered when one of its sites is.
Counts use the visits of ``visits.collect`` (inspections and GPS tracks, whoever filed them).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, tzinfo
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ...errors import Unprocessable
from ...models import Household, Inspection, Plan, PlanItem, PlanUnit, Site, Target
from ...schemas import planning as s
from . import grid
from .common import get_unit, unit_grid
from .plans import campaign_window, labels, plan_span
from .visits import Visits, collect, local_day


@dataclass(frozen=True)
class Knobs:
    resolution: int
    zone: tzinfo
    site_radius_m: float
    max_accuracy_m: float


def resolve_window(
    plan: Plan | None,
    season: int,
    campaign: str | None,
    since: date | None,
    until: date | None,
) -> tuple[date, date]:
    if campaign is not None:
        if plan is None:
            raise Unprocessable(
                f"there is no {season} plan, so no campaign {campaign!r}",
                details=[{"field": "campaign", "message": "no plan"}],
            )
        return campaign_window(plan, campaign)
    if since is not None or until is not None:
        start = since or date(season, 1, 1)
        end = until or date(season, 12, 31)
    elif plan is not None:
        start, end = plan_span(plan)
    else:
        start, end = date(season, 1, 1), date(season, 12, 31)
    if end < start:
        raise Unprocessable(
            f"until {end} is before since {start}",
            details=[{"field": "until", "message": "dates out of order"}],
        )
    return start, end


def _share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def _overlaps(item: PlanItem, since: date, until: date) -> bool:
    return item.starts_on <= until and item.due_on >= since


def target_checks(
    session: Session, unit: str, since: date, until: date, as_of: date, zone: tzinfo
) -> s.TargetCoverage:
    targets = list(
        session.scalars(
            select(Target)
            .where(
                Target.unit == unit,
                (Target.issued_on.is_(None)) | (Target.issued_on <= until),
                (Target.due_on.is_(None)) | (Target.due_on >= since),
            )
            .order_by(Target.seq)
        )
    )
    first: dict[str, date] = {}
    if targets:
        for target_id, observed in session.execute(
            select(Inspection.target_id, func.min(Inspection.observed_at))
            .where(Inspection.target_id.in_([t.id for t in targets]))
            .group_by(Inspection.target_id)
        ).all():
            first[target_id] = local_day(observed, zone)
    items = []
    for t in targets:
        checked = first.get(t.id)
        if checked is not None:
            state = "on_time" if t.due_on is None or checked <= t.due_on else "late"
        elif t.due_on is not None and t.due_on < as_of:
            state = "overdue"
        else:
            state = "pending"
        items.append(
            s.TargetCheck(
                id=t.id,
                issuer=t.issuer,
                issuer_id=t.issuer_id,
                issued_on=t.issued_on,
                due_on=t.due_on,
                first_checked_on=checked,
                state=state,
            )
        )
    tally = defaultdict(int)
    for item in items:
        tally[item.state] += 1
    return s.TargetCoverage(
        total=len(items),
        on_time=tally["on_time"],
        late=tally["late"],
        overdue=tally["overdue"],
        pending=tally["pending"],
        items=items,
    )


@dataclass
class Computed:
    report: s.Coverage
    unit: PlanUnit
    visits: Visits
    planned_cells: set[str]
    cells: tuple[str, ...]
    uncovered_sites: list[Site]


def compute(
    session: Session,
    unit_name: str,
    season: int,
    knobs: Knobs,
    *,
    campaign: str | None = None,
    since: date | None = None,
    until: date | None = None,
    as_of: date | None = None,
) -> Computed:
    unit = get_unit(session, unit_name)
    plan = session.scalar(select(Plan).where(Plan.unit == unit_name, Plan.season == season))
    start, end = resolve_window(plan, season, campaign, since, until)
    as_of = as_of or date.today()
    resolution = plan.resolution if plan is not None else knobs.resolution
    g = unit_grid(unit, resolution)
    sites = list(session.scalars(select(Site).where(Site.unit == unit_name).order_by(Site.seq)))
    households = list(
        session.scalars(
            select(Household).where(Household.unit == unit_name).order_by(Household.seq)
        )
    )
    items = (
        [
            i
            for i in session.scalars(
                select(PlanItem).where(PlanItem.plan_id == plan.id).order_by(PlanItem.id)
            )
            if _overlaps(i, start, end) and (campaign is None or i.campaign == campaign)
        ]
        if plan is not None
        else []
    )
    # the whole year for repeat sweeps: an item's window may start before the query's
    visits = collect(
        session,
        unit,
        resolution=resolution,
        since=min([start, *(i.starts_on for i in items)]),
        until=max([end, *(i.due_on for i in items)]),
        zone=knobs.zone,
        sites=sites,
        site_radius_m=knobs.site_radius_m,
        max_accuracy_m=knobs.max_accuracy_m,
    )

    def days(kind: str, ref: str, lo: date, hi: date) -> set[date]:
        if kind == "cell":
            found = visits.cells.get(ref, set())
        elif kind == "site":
            found = visits.sites.get(ref, set())
        else:
            found = set().union(*(visits.sites.get(x.id, set()) for x in by_household[ref]))
        return {d for d in found if lo <= d <= hi}

    by_household: dict[str, list[Site]] = defaultdict(list)
    for site in sites:
        if site.household_id:
            by_household[site.household_id].append(site)

    planned = {
        kind: {i.ref for i in items if i.kind == kind} for kind in ("cell", "site", "household")
    }
    planned_cells = planned["cell"] or set(g.cells)
    planned_sites = planned["site"] or {x.id for x in sites}
    planned_households = planned["household"] or {h.id for h in households}

    covered_cells = {c for c in g.cells if days("cell", c, start, end)}
    blind = sorted(planned_cells - covered_cells)
    site_rows = {x.id: x for x in sites}
    covered_sites = {x for x in planned_sites if days("site", x, start, end)}
    uncovered_sites = [
        site_rows[x] for x in sorted(planned_sites - covered_sites, key=lambda i: site_rows[i].seq)
    ]
    household_rows = {h.id: h for h in households}
    covered_households = {h for h in planned_households if days("household", h, start, end)}
    uncovered_households = sorted(
        planned_households - covered_households, key=lambda i: household_rows[i].seq
    )

    names = labels(session, items)
    sweeps = []
    for item in items:
        if item.sweeps <= 1:
            continue
        done = len(days(item.kind, item.ref, item.starts_on, item.due_on))
        sweeps.append(
            s.SweepStatus(
                kind=item.kind,
                ref=item.ref,
                label=item.ref if item.kind == "cell" else names.get((item.kind, item.ref)),
                campaign=item.campaign,
                sweeps=item.sweeps,
                done=done,
                starts_on=item.starts_on,
                due_on=item.due_on,
                overdue=item.due_on < as_of and done < item.sweeps,
            )
        )
    report = s.Coverage(
        unit=unit_name,
        season=season,
        window=s.Window(since=start, until=end),
        as_of=as_of,
        plan_id=plan.id if plan else None,
        resolution=resolution,
        cells=s.CellCoverage(
            jurisdiction=len(g.cells),
            covered=len(covered_cells),
            share=_share(len(covered_cells), len(g.cells)),
            planned=len(planned_cells),
            planned_covered=len(planned_cells & covered_cells),
            planned_share=_share(len(planned_cells & covered_cells), len(planned_cells)),
            blind_spots=blind,
        ),
        sites=s.SiteCoverage(
            planned=len(planned_sites),
            covered=len(covered_sites),
            share=_share(len(covered_sites), len(planned_sites)),
            uncovered=[
                s.SiteRef(
                    id=x.id,
                    external_id=x.external_id,
                    name=x.name,
                    site_type=x.site_type,
                    lat=x.lat,
                    lon=x.lon,
                )
                for x in uncovered_sites
            ],
        ),
        households=s.HouseholdCoverage(
            planned=len(planned_households),
            covered=len(covered_households),
            share=_share(len(covered_households), len(planned_households)),
            uncovered=[
                s.HouseholdRef(
                    id=h,
                    external_id=household_rows[h].external_id,
                    village_group=household_rows[h].village_group,
                    head_name=household_rows[h].head_name,
                    sites=len(by_household[h]),
                )
                for h in uncovered_households
            ],
        ),
        repeat_sweeps=sweeps,
        overdue_sweeps=sum(1 for x in sweeps if x.overdue),
        targets=target_checks(session, unit_name, start, end, as_of, knobs.zone),
    )
    return Computed(report, unit, visits, planned_cells, g.cells, uncovered_sites)


def feature_collection(computed: Computed) -> dict[str, Any]:
    """The coverage layer: every cell (covered / blind_spot / unplanned) and uncovered sites."""
    report, visits = computed.report, computed.visits
    start, end = report.window.since, report.window.until
    features = []
    for cell in computed.cells:
        n = len({d for d in visits.cells.get(cell, set()) if start <= d <= end})
        status = (
            "covered" if n else ("blind_spot" if cell in computed.planned_cells else "unplanned")
        )
        features.append(
            {
                "type": "Feature",
                "id": cell,
                "geometry": grid.cell_polygon(cell),
                "properties": {"kind": "cell", "cell": cell, "status": status, "visits": n},
            }
        )
    for site in computed.uncovered_sites:
        features.append(
            {
                "type": "Feature",
                "id": site.id,
                "geometry": {
                    "type": "Point",
                    "coordinates": [round(site.lon, 7), round(site.lat, 7)],
                },
                "properties": {
                    "kind": "site",
                    "status": "blind_spot",
                    "site_id": site.id,
                    "external_id": site.external_id,
                    "name": site.name,
                    "site_type": site.site_type,
                },
            }
        )
    return {
        "type": "FeatureCollection",
        "unit": report.unit,
        "season": report.season,
        "window": {"since": start.isoformat(), "until": end.isoformat()},
        "as_of": report.as_of.isoformat(),
        "cells": report.cells.model_dump(exclude={"blind_spots"}),
        "simulation": computed.unit.simulation,
        "features": features,
    }
