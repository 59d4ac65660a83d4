"""The period report a unit or the county office sends upward: week, month, campaign or range.

Per unit and in total: patrol turnouts (distinct officer-days, from inspections and GPS
tracks), inspections, track kilometres, cells and area covered, targets issued / checked /
checked on time, plantings found and eradicated by species, pledges signed and notices
served. Definitions (also on the report's notes sheet):

- found: inspections observed in the period that a reviewer confirmed as opium poppy or
  cannabis; eradications, plants and area: eradications *dated* in the period (species from
  the review, ``unconfirmed`` when there is none);
- targets issued: assigned to the unit, issued in the period; checked: a linked inspection
  observed by the end of the period; on time: the first one no later than the due date;
- pledges / notices: households whose signing / serving date is in the period.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ...errors import Unprocessable
from ...keys import Principal
from ...models import Household, Inspection, Plan, PlanUnit, Target, Track
from ...schemas import planning as s
from ...vocab import ReviewState, Role
from ..tips import stats as tips_stats
from . import grid
from .common import check_unit_access, unit_grid
from .coverage import Knobs
from .plans import campaign_window
from .visits import collect, local_bounds, local_day, track_points

SPECIES_OF_STATE = {
    ReviewState.CONFIRMED_OPIUM_POPPY.value: "opium_poppy",
    ReviewState.CONFIRMED_CANNABIS.value: "cannabis",
}
SPECIES_ZH = {"opium_poppy": "罂粟", "cannabis": "大麻", "unconfirmed": "未经复核"}


def resolve_period(
    session: Session,
    units: list[str],
    *,
    since: date | None,
    until: date | None,
    week: date | None,
    month: str | None,
    campaign: str | None,
    season: int | None,
) -> tuple[date, date, str]:
    """(first day, last day, period kind). Exactly one way of naming the period."""
    given = [
        name
        for name, value in (
            ("since/until", since or until),
            ("week", week),
            ("month", month),
            ("campaign", campaign),
        )
        if value
    ]
    if len(given) != 1:
        raise Unprocessable(
            "name the period one way: since & until, week, month, or campaign & season"
            + (f" (got {', '.join(given)})" if given else ""),
            details=[
                {"field": "period", "message": "exactly one of since/until, week, month, campaign"}
            ],
        )
    if week:
        start = week - timedelta(days=week.weekday())
        return start, start + timedelta(days=6), "week"
    if month:
        match = re.fullmatch(r"(\d{4})-(\d{1,2})", month.strip())
        if not match or not 1 <= int(match[2]) <= 12 or not 1950 <= int(match[1]) <= 2100:
            raise Unprocessable(f"month must be YYYY-MM, not {month!r}")
        start = date(int(match[1]), int(match[2]), 1)
        nxt = date(start.year + start.month // 12, start.month % 12 + 1, 1)
        return start, nxt - timedelta(days=1), "month"
    if campaign:
        if season is None:
            raise Unprocessable("a campaign report needs the season (season=YYYY)")
        plans = {
            p.unit: p
            for p in session.scalars(
                select(Plan).where(Plan.season == season, Plan.unit.in_(units))
            )
        }
        missing = [u for u in units if u not in plans]
        if missing:
            raise Unprocessable(
                f"unit {missing[0]!r} has no {season} plan, so no campaign {campaign!r}"
            )
        windows = [campaign_window(plans[u], campaign) for u in units]
        return min(w[0] for w in windows), max(w[1] for w in windows), "campaign"
    if since is None or until is None:
        raise Unprocessable("a range needs both since and until")
    if until < since:
        raise Unprocessable(
            f"until {until} is before since {since}",
            details=[{"field": "until", "message": "dates out of order"}],
        )
    return since, until, "range"


def report_units(
    session: Session,
    principal: Principal | None,
    requested: list[str],
    window: tuple[date, date] | None,
    zone,
) -> list[str]:
    """The units asked for; none = every unit (reviewers, the command line) or the key's own
    (inspectors). Every unit = those with a boundary or households, and those that filed
    inspections in the window."""
    if principal is not None:
        for unit in requested:
            check_unit_access(principal, unit)
    if requested:
        return sorted(set(requested))
    if principal is not None and not principal.role.allows(Role.REVIEWER):
        assert principal.unit is not None
        return [principal.unit]
    names = set(session.scalars(select(PlanUnit.name)))
    names |= set(session.scalars(select(Household.unit)))
    if window is not None:
        start, end = local_bounds(window[0], window[1], zone)
        names |= set(
            session.scalars(
                select(Inspection.unit).where(
                    Inspection.observed_at >= start, Inspection.observed_at < end
                )
            )
        )
    return sorted(names)


def build(
    session: Session,
    principal: Principal | None,
    requested: list[str],
    *,
    since: date | None,
    until: date | None,
    week: date | None,
    month: str | None,
    campaign: str | None,
    season: int | None,
    knobs: Knobs,
) -> s.PeriodReport:
    """Resolve the units and the period, then build the report (API and command line)."""
    units: list[str] = []
    if campaign:
        units = report_units(session, principal, requested, None, knobs.zone)
        if not requested and season is not None:
            # the whole office: the units whose season plan has this campaign
            planned = {
                p.unit
                for p in session.scalars(select(Plan).where(Plan.season == season))
                if any(c["key"] == campaign for c in p.campaigns)
            }
            units = [u for u in units if u in planned] or units
    first, last, kind = resolve_period(
        session,
        units,
        since=since,
        until=until,
        week=week,
        month=month,
        campaign=campaign,
        season=season,
    )
    if not campaign:
        units = report_units(session, principal, requested, (first, last), knobs.zone)
    if not units:
        raise Unprocessable("there is no unit to report on yet")
    whole_office = not requested and (principal is None or principal.role.allows(Role.REVIEWER))
    return period_report(
        session,
        principal,
        units,
        first,
        last,
        kind,
        knobs,
        tips_units=None if whole_office else units,
    )


def _unit_row(
    session: Session, unit_name: str, since: date, until: date, knobs: Knobs
) -> tuple[s.ReportRow, list[s.SpeciesRow], bool]:
    zone = knobs.zone
    start, end = local_bounds(since, until, zone)
    turnouts: set[tuple[str, date]] = set()
    inspections = 0
    for inspector, observed in session.execute(
        select(Inspection.inspector, Inspection.observed_at).where(
            Inspection.unit == unit_name,
            Inspection.observed_at >= start,
            Inspection.observed_at < end,
        )
    ).all():
        inspections += 1
        turnouts.add((inspector, local_day(observed, zone)))
    track_m = 0.0
    for track in session.scalars(
        select(Track).where(
            Track.unit == unit_name, Track.started_at < end, Track.ended_at >= start
        )
    ):
        points = [p for p in track_points(track, knobs.max_accuracy_m) if start <= p.at < end]
        for p in points:
            turnouts.add((track.inspector, local_day(p.at, zone)))
        track_m += grid.track_length_m(points)

    unit = session.scalar(select(PlanUnit).where(PlanUnit.name == unit_name))
    cells_total = cells_covered = 0
    area_covered = 0.0
    if unit is not None:
        visits = collect(
            session,
            unit,
            resolution=knobs.resolution,
            since=since,
            until=until,
            zone=zone,
            site_radius_m=knobs.site_radius_m,
            max_accuracy_m=knobs.max_accuracy_m,
        )
        g = unit_grid(unit, knobs.resolution)
        cells_total = len(g.cells)
        covered = [c for c in g.cells if visits.cells.get(c)]
        cells_covered = len(covered)
        area_covered = sum(grid.cell_area_km2(c) for c in covered)

    issued = list(
        session.scalars(
            select(Target).where(
                Target.unit == unit_name, Target.issued_on >= since, Target.issued_on <= until
            )
        )
    )
    first: dict[str, date] = {}
    if issued:
        for target_id, observed in session.execute(
            select(Inspection.target_id, func.min(Inspection.observed_at))
            .where(Inspection.target_id.in_([t.id for t in issued]), Inspection.observed_at < end)
            .group_by(Inspection.target_id)
        ).all():
            first[target_id] = local_day(observed, zone)
    checked = [t for t in issued if t.id in first]
    on_time = [t for t in checked if t.due_on is None or first[t.id] <= t.due_on]

    species: dict[str, dict[str, float]] = defaultdict(
        lambda: {"found": 0, "eradications": 0, "plants": 0, "area": 0.0}
    )
    for state, n in session.execute(
        select(Inspection.review_state, func.count())
        .where(
            Inspection.unit == unit_name,
            Inspection.observed_at >= start,
            Inspection.observed_at < end,
            Inspection.review_state.in_(list(SPECIES_OF_STATE)),
        )
        .group_by(Inspection.review_state)
    ).all():
        species[SPECIES_OF_STATE[state]]["found"] += n
    for state, n, plants, area in session.execute(
        select(
            Inspection.review_state,
            func.count(),
            func.coalesce(func.sum(Inspection.eradicated_plants), 0),
            func.coalesce(func.sum(Inspection.eradicated_area_m2), 0.0),
        )
        .where(
            Inspection.unit == unit_name,
            Inspection.eradicated_on >= since,
            Inspection.eradicated_on <= until,
        )
        .group_by(Inspection.review_state)
    ).all():
        entry = species[SPECIES_OF_STATE.get(state, "unconfirmed")]
        entry["eradications"] += n
        entry["plants"] += int(plants)
        entry["area"] += float(area)

    pledges = session.scalar(
        select(func.count()).where(
            Household.unit == unit_name,
            Household.pledge_signed_on >= since,
            Household.pledge_signed_on <= until,
        )
    )
    notices = session.scalar(
        select(func.count()).where(
            Household.unit == unit_name,
            Household.notice_served_on >= since,
            Household.notice_served_on <= until,
        )
    )
    simulated = bool(unit and unit.simulation) or bool(
        session.scalar(
            select(func.count()).where(Household.unit == unit_name, Household.simulation.is_(True))
        )
    )
    row = s.ReportRow(
        unit=unit_name,
        turnouts=len(turnouts),
        inspections=inspections,
        track_km=round(track_m / 1000, 3),
        cells_covered=cells_covered,
        area_covered_km2=round(area_covered, 4),
        cells_total=cells_total,
        coverage_share=round(cells_covered / cells_total, 4) if cells_total else 0.0,
        targets_issued=len(issued),
        targets_checked=len(checked),
        targets_on_time=len(on_time),
        found_opium_poppy=int(species["opium_poppy"]["found"]),
        found_cannabis=int(species["cannabis"]["found"]),
        eradications=int(sum(v["eradications"] for v in species.values())),
        plants_eradicated=int(sum(v["plants"] for v in species.values())),
        area_eradicated_m2=round(sum(v["area"] for v in species.values()), 3),
        pledges_signed=pledges or 0,
        notices_served=notices or 0,
    )
    species_rows = [
        s.SpeciesRow(
            unit=unit_name,
            species=key,
            found=int(species[key]["found"]),
            eradications=int(species[key]["eradications"]),
            plants_eradicated=int(species[key]["plants"]),
            area_eradicated_m2=round(species[key]["area"], 3),
        )
        for key in ("opium_poppy", "cannabis", "unconfirmed")
        if key != "unconfirmed" or key in species
    ]
    return row, species_rows, simulated


def _total(rows: list[s.ReportRow]) -> s.ReportRow:
    def add(name: str) -> float:
        return sum(getattr(r, name) for r in rows)

    cells_total, cells_covered = int(add("cells_total")), int(add("cells_covered"))
    return s.ReportRow(
        unit="合计 (total)",
        turnouts=int(add("turnouts")),
        inspections=int(add("inspections")),
        track_km=round(add("track_km"), 3),
        cells_covered=cells_covered,
        area_covered_km2=round(add("area_covered_km2"), 4),
        cells_total=cells_total,
        coverage_share=round(cells_covered / cells_total, 4) if cells_total else 0.0,
        targets_issued=int(add("targets_issued")),
        targets_checked=int(add("targets_checked")),
        targets_on_time=int(add("targets_on_time")),
        found_opium_poppy=int(add("found_opium_poppy")),
        found_cannabis=int(add("found_cannabis")),
        eradications=int(add("eradications")),
        plants_eradicated=int(add("plants_eradicated")),
        area_eradicated_m2=round(add("area_eradicated_m2"), 3),
        pledges_signed=int(add("pledges_signed")),
        notices_served=int(add("notices_served")),
    )


def period_report(
    session: Session,
    principal: Principal | None,
    units: list[str],
    since: date,
    until: date,
    period: str,
    knobs: Knobs,
    *,
    tips_units: list[str] | None = None,
) -> s.PeriodReport:
    """``tips_units``: None counts every tip-off (the whole office's report), else only those
    turned into targets of these units."""
    rows, species_rows, simulated = [], [], False
    for unit in units:
        row, by_species, sim = _unit_row(session, unit, since, until, knobs)
        rows.append(row)
        species_rows.extend(by_species)
        simulated = simulated or sim
    households = [
        s.HouseholdAction(
            unit=h.unit,
            external_id=h.external_id,
            village_group=h.village_group,
            head_name=h.head_name,
            contact=h.contact,
            pledge_signed_on=h.pledge_signed_on
            if h.pledge_signed_on and since <= h.pledge_signed_on <= until
            else None,
            notice_served_on=h.notice_served_on
            if h.notice_served_on and since <= h.notice_served_on <= until
            else None,
        )
        for h in session.scalars(
            select(Household)
            .where(
                Household.unit.in_(units),
                ((Household.pledge_signed_on >= since) & (Household.pledge_signed_on <= until))
                | ((Household.notice_served_on >= since) & (Household.notice_served_on <= until)),
            )
            .order_by(Household.unit, Household.external_id)
        )
    ]
    scope = units[0] if len(units) == 1 else f"{len(units)} 个单位"
    kind = {"week": "周", "month": "月", "campaign": "专项行动", "range": "期间"}[period]
    title = f"{scope} 禁种铲毒工作{kind}报表（{since.isoformat()} 至 {until.isoformat()}）"
    if simulated:
        title = "【模拟数据 SIMULATION】" + title
    return s.PeriodReport(
        title=title,
        since=since,
        until=until,
        period=period,
        units=rows,
        totals=_total(rows),
        species=species_rows,
        households=households,
        simulation=simulated,
        generated_at=datetime.now(UTC),
        generated_by=principal.name if principal else "plantscout report (command line)",
        tips=tips_stats.summary(session, since, until, units=tips_units),
    )
