"""Patrol planning over HTTP (issue 14): units, registries, history, priorities, plans, tracks,
coverage and the period report. HTTP only: every query and rule is in
``services/planning``; roles are checked by the ``require`` dependency; inspectors work on
their own unit (the services raise 403 for another), reviewers and admins on every unit.

Who may do what: boundaries are imported by admins; sites, households and history by
reviewers; a unit's own inspector keys (the unit leader's too) read its priorities, write its
season plan, record pledges and notices on its households, send GPS tracks, and read its
coverage and report. Household names and contacts go to the unit's keys and reviewers only.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Form, Header, Path, Query, Response, UploadFile
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..deps import get_services, read_session, require_admin, require_inspector, require_reviewer
from ..errors import PayloadTooLarge, Unprocessable
from ..keys import Principal
from ..models import HistoryPoint, Household, Plan, PlanUnit, Site, Track
from ..schemas import planning as s
from ..schemas.common import ERROR_RESPONSES, Page
from ..services.filters import parse_instant
from ..services.planning import coverage as coverage_service
from ..services.planning import history as history_service
from ..services.planning import plans as plan_service
from ..services.planning import priorities as priority_service
from ..services.planning import registry, report, report_files, tracks
from ..services.planning.common import default_unit, page
from ..state import Services
from ..vocab import Role

router = APIRouter(responses=ERROR_RESPONSES)

ImportFile = Annotated[UploadFile, File(description="GeoJSON FeatureCollection or CSV.")]
ImportFormat = Annotated[Literal["geojson", "csv"] | None, Form()]
Encoding = Annotated[
    Literal["utf-8", "gb18030", "gbk", "utf-16"] | None,
    Form(description="Text encoding; default: detected (UTF-8, else GBK/GB18030)."),
]
Cursor = Annotated[str | None, Query(description="`next_cursor` of the previous page.")]
Season = Annotated[int, Query(ge=2000, le=2100, description="The year of the season.")]
GEOJSON = {200: {"content": {"application/geo+json": {}}}}


class GeoJSONResponse(JSONResponse):
    media_type = "application/geo+json"


def knobs(services: Services) -> coverage_service.Knobs:
    settings = services.settings
    return coverage_service.Knobs(
        resolution=settings.plan_h3_resolution,
        zone=services.camera_zone,
        site_radius_m=settings.plan_site_radius_m,
        max_accuracy_m=settings.plan_track_max_accuracy_m,
    )


def read_upload(file: UploadFile, limit: int) -> bytes:
    data = file.file.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLarge(f"the file is larger than {limit:,} bytes")
    return data


def _instant(value: str | None, name: str, *, end: bool = False) -> dt.datetime | None:
    if value and value[:4].isdigit() and not 1950 <= int(value[:4]) <= 2100:
        raise Unprocessable(
            f"{name} {value} is outside 1950–2100",
            details=[{"field": name, "message": "out of range"}],
        )
    return parse_instant(value, name, end=end)


def _day(value: str | None, name: str) -> dt.date | None:
    moment = _instant(value, name)
    return moment.date() if moment is not None else None


# -- units -----------------------------------------------------------------------------------


@router.post(
    "/v1/units/import",
    tags=["planning: units"],
    response_model=s.PlanImportResult,
    summary="Import unit boundaries (GeoJSON polygons; CSV points with radius_m)",
)
def import_units(
    file: ImportFile,
    format: ImportFormat = None,
    encoding: Encoding = None,
    principal: Principal = Depends(require_admin),
    services: Services = Depends(get_services),
) -> s.PlanImportResult:
    """Keyed by unit name (the name inspections and keys carry). A self-intersecting
    boundary, or two units sharing more than 1 % of their area, rejects the whole file."""
    data = read_upload(file, services.settings.max_import_bytes)
    return registry.import_units(services.db, principal, data, file.filename, format, encoding)


@router.get(
    "/v1/units", tags=["planning: units"], response_model=Page[s.Unit], summary="List units"
)
def list_units(
    cursor: Cursor = None,
    limit: int = Query(100, ge=1, le=1000),
    _principal: Principal = Depends(require_inspector),
    services: Services = Depends(get_services),
    session: Session = Depends(read_session),
) -> Page[s.Unit]:
    """Boundaries are not personal: every key may read every unit's."""
    rows, nxt = page(session, select(PlanUnit), PlanUnit.seq, cursor, limit)
    resolution = services.settings.plan_h3_resolution
    return Page[s.Unit](items=[registry.present_unit(u, resolution) for u in rows], next_cursor=nxt)


# -- households ------------------------------------------------------------------------------


@router.post(
    "/v1/households/import",
    tags=["planning: households"],
    response_model=s.PlanImportResult,
    summary="Import households (CSV or GeoJSON; Chinese headers understood)",
)
def import_households(
    file: ImportFile,
    format: ImportFormat = None,
    encoding: Encoding = None,
    principal: Principal = Depends(require_reviewer),
    services: Services = Depends(get_services),
) -> s.PlanImportResult:
    """Keyed by (unit, household id). Columns: id (户号), unit, village_group, head_name,
    contact, address, past_offender, offence_years, pledge_signed_on, notice_served_on, notes."""
    data = read_upload(file, services.settings.max_import_bytes)
    return registry.import_households(services.db, principal, data, file.filename, format, encoding)


@router.get(
    "/v1/households",
    tags=["planning: households"],
    response_model=Page[s.Household],
    summary="List a unit's households (personal data)",
)
def list_households(
    unit: str | None = Query(None, max_length=100),
    past_offender: bool | None = Query(None),
    cursor: Cursor = None,
    limit: int = Query(100, ge=1, le=1000),
    principal: Principal = Depends(require_inspector),
    session: Session = Depends(read_session),
) -> Page[s.Household]:
    unit_name = default_unit(principal, unit)
    query = select(Household).where(Household.unit == unit_name)
    if past_offender is not None:
        query = query.where(Household.past_offender.is_(past_offender))
    rows, nxt = page(session, query, Household.seq, cursor, limit)
    counts = registry.site_counts(session, [r.id for r in rows])
    return Page[s.Household](
        items=[registry.present_household(r, counts.get(r.id, 0)) for r in rows],
        next_cursor=nxt,
    )


@router.patch(
    "/v1/households/{household_id}",
    tags=["planning: households"],
    response_model=s.Household,
    summary="Record a pledge, a notice, or a corrected contact",
)
def patch_household(
    household_id: Annotated[str, Path(max_length=36)],
    patch: s.HouseholdPatch,
    response: Response,
    if_match: Annotated[str | None, Header(max_length=40)] = None,
    principal: Principal = Depends(require_inspector),
    services: Services = Depends(get_services),
) -> s.Household:
    """The unit's own keys and reviewers. ``If-Match: "<version>"`` refuses a stale change."""
    out = registry.patch_household(services.db, principal, household_id, patch, if_match)
    response.headers["ETag"] = f'"{out.version}"'
    return out


# -- sites -----------------------------------------------------------------------------------


@router.post(
    "/v1/sites/import",
    tags=["planning: sites"],
    response_model=s.PlanImportResult,
    summary="Import sites (courtyards, fields, greenhouses …)",
)
def import_sites(
    file: ImportFile,
    format: ImportFormat = None,
    encoding: Encoding = None,
    principal: Principal = Depends(require_reviewer),
    services: Services = Depends(get_services),
) -> s.PlanImportResult:
    """Keyed by (unit, site id). Columns: id, unit, site_type, lat/lon (or geometry), name,
    household (its id in the same unit), offence_years, notes. A site outside its unit, or
    naming an unknown household, rejects the file."""
    data = read_upload(file, services.settings.max_import_bytes)
    return registry.import_sites(services.db, principal, data, file.filename, format, encoding)


@router.get(
    "/v1/sites",
    tags=["planning: sites"],
    response_model=Page[s.Site],
    summary="List a unit's sites",
)
def list_sites(
    unit: str | None = Query(None, max_length=100),
    cursor: Cursor = None,
    limit: int = Query(100, ge=1, le=1000),
    principal: Principal = Depends(require_inspector),
    session: Session = Depends(read_session),
) -> Page[s.Site]:
    unit_name = default_unit(principal, unit)
    rows, nxt = page(session, select(Site).where(Site.unit == unit_name), Site.seq, cursor, limit)
    return Page[s.Site](items=registry.present_sites(session, rows), next_cursor=nxt)


# -- history ---------------------------------------------------------------------------------


@router.post(
    "/v1/history/import",
    tags=["planning: history"],
    response_model=s.PlanImportResult,
    summary="Import past survey points with their outcome",
)
def import_history(
    file: ImportFile,
    source: Annotated[
        str, Form(min_length=1, max_length=100, description="e.g. county-survey-2021")
    ],
    format: ImportFormat = None,
    encoding: Encoding = None,
    principal: Principal = Depends(require_reviewer),
    services: Services = Depends(get_services),
) -> s.PlanImportResult:
    """Keyed by (source, id). Columns: id, lat/lon (or geometry), year and/or observed_on,
    outcome (confirmed / eradicated / false_alarm; 确认 / 已铲除 / 误报), species, plants,
    area_m2, unit (default: the unit that holds the point; outside every unit is a 422)."""
    if "\x00" in source:
        raise Unprocessable("source contains a NUL character")
    data = read_upload(file, services.settings.max_import_bytes)
    return history_service.import_history(
        services.db, principal, source.strip(), data, file.filename, format, encoding
    )


@router.get(
    "/v1/history",
    tags=["planning: history"],
    response_model=Page[s.HistoryPoint],
    summary="List imported history points of a unit",
)
def list_history(
    unit: str | None = Query(None, max_length=100),
    year: int | None = Query(None, ge=1950, le=2100),
    cursor: Cursor = None,
    limit: int = Query(100, ge=1, le=1000),
    principal: Principal = Depends(require_inspector),
    session: Session = Depends(read_session),
) -> Page[s.HistoryPoint]:
    unit_name = default_unit(principal, unit)
    query = select(HistoryPoint).where(HistoryPoint.unit == unit_name)
    if year is not None:
        query = query.where(HistoryPoint.year == year)
    rows, nxt = page(session, query, HistoryPoint.seq, cursor, limit)
    return Page[s.HistoryPoint](items=[history_service.present(r) for r in rows], next_cursor=nxt)


# -- priorities ------------------------------------------------------------------------------


@router.get(
    "/v1/priority-areas",
    tags=["planning: priorities"],
    response_model=s.PriorityAreas,
    response_class=GeoJSONResponse,
    responses=GEOJSON,
    summary="A unit's grid cells ranked for patrol, with reasons (GeoJSON)",
)
def priority_areas(
    season: Season,
    unit: str | None = Query(None, max_length=100),
    as_of: str | None = Query(None, description="Date the ranking is for (default: today)."),
    limit: int | None = Query(None, ge=1, le=100_000, description="Only the top cells."),
    principal: Principal = Depends(require_inspector),
    services: Services = Depends(get_services),
    session: Session = Depends(read_session),
):
    """Ranked best first: ``rank``, ``score``, ``reasons`` (zh/en), ``last_patrolled``."""
    unit_name = default_unit(principal, unit)
    result = priority_service.priorities(
        session,
        unit_name,
        season,
        resolution=services.settings.plan_h3_resolution,
        zone=services.camera_zone,
        as_of=_day(as_of, "as_of"),
    )
    return priority_service.feature_collection(result, limit)


@router.get(
    "/v1/priority-areas/backtest",
    tags=["planning: priorities"],
    response_model=s.BacktestOut,
    summary="Back-test the ranking on this office's history",
)
def backtest(
    year: list[int] = Query(default=[], description="Test years (default: the last three)."),
    unit: list[str] = Query(default=[]),
    _principal: Principal = Depends(require_reviewer),
    services: Services = Depends(get_services),
    session: Session = Depends(read_session),
) -> s.BacktestOut:
    """Share of year-Y plantings in the top 5/10/20 % of cells ranked with the years before
    Y, against uniform and last-year-only baselines (``plantscout plan backtest`` too)."""
    if any(not 1950 <= y <= 2100 for y in year):
        raise Unprocessable("years must be in 1950–2100")
    resolution = services.settings.plan_h3_resolution
    result, units, years, simulated = priority_service.office_backtest(
        session, resolution=resolution, years=year or None, units=unit or None
    )
    return s.BacktestOut(
        units=units,
        years=years,
        resolution=resolution,
        result=result.as_dict(),
        simulation=simulated,
    )


# -- plans -----------------------------------------------------------------------------------


@router.put(
    "/v1/plans/{unit}/{season}",
    tags=["planning: plans"],
    response_model=s.Plan,
    status_code=200,
    responses={201: {"model": s.Plan, "description": "Created."}},
    summary="Write a unit's season plan (whole)",
)
def put_plan(
    unit: Annotated[str, Path(max_length=100)],
    season: Annotated[int, Path(ge=2000, le=2100)],
    body: s.PlanIn,
    response: Response,
    if_match: Annotated[str | None, Header(max_length=40)] = None,
    principal: Principal = Depends(require_inspector),
    services: Services = Depends(get_services),
) -> s.Plan:
    """Campaigns with their dates; cells, sites and households with sweeps and due dates;
    ``fill`` adds the top cells and past offenders. Replaces the previous version (audited)."""
    plan, created = plan_service.put_plan(
        services.db,
        principal,
        unit,
        season,
        body,
        resolution=services.settings.plan_h3_resolution,
        zone=services.camera_zone,
        if_match=if_match,
    )
    response.status_code = 201 if created else 200
    response.headers["ETag"] = f'"{plan.version}"'
    return plan


@router.get(
    "/v1/plans/{unit}/{season}",
    tags=["planning: plans"],
    response_model=s.Plan,
    summary="A unit's season plan",
)
def get_plan(
    unit: Annotated[str, Path(max_length=100)],
    season: Annotated[int, Path(ge=2000, le=2100)],
    response: Response,
    principal: Principal = Depends(require_inspector),
    session: Session = Depends(read_session),
) -> s.Plan:
    plan = plan_service.get_plan(session, principal, unit, season)
    response.headers["ETag"] = f'"{plan.version}"'
    return plan_service.present(session, plan)


@router.get(
    "/v1/plans", tags=["planning: plans"], response_model=Page[s.PlanSummary], summary="List plans"
)
def list_plans(
    unit: str | None = Query(None, max_length=100),
    season: int | None = Query(None, ge=2000, le=2100),
    cursor: Cursor = None,
    limit: int = Query(100, ge=1, le=1000),
    principal: Principal = Depends(require_inspector),
    session: Session = Depends(read_session),
) -> Page[s.PlanSummary]:
    query = select(Plan)
    if unit or not principal.role.allows(Role.REVIEWER):
        query = query.where(Plan.unit == default_unit(principal, unit))
    if season is not None:
        query = query.where(Plan.season == season)
    rows, nxt = page(session, query, Plan.seq, cursor, limit)
    return Page[s.PlanSummary](
        items=[plan_service.summary(session, p) for p in rows], next_cursor=nxt
    )


# -- tracks ----------------------------------------------------------------------------------


@router.post(
    "/v1/tracks",
    tags=["planning: tracks"],
    response_model=s.Track,
    status_code=201,
    responses={200: {"description": "A re-sent chunk: the one already stored."}},
    summary="File a chunk of a patrol's GPS track",
)
def file_track(
    body: s.TrackIn,
    response: Response,
    principal: Principal = Depends(require_inspector),
    services: Services = Depends(get_services),
) -> s.Track:
    """Points in time order; the walked cells count as patrolled."""
    filed = tracks.file_track(
        services.db,
        principal,
        body,
        resolution=services.settings.plan_h3_resolution,
        max_accuracy_m=services.settings.plan_track_max_accuracy_m,
        zone=services.camera_zone,
    )
    if not filed.created:
        response.status_code = 200
    return filed.track


@router.get(
    "/v1/tracks", tags=["planning: tracks"], response_model=Page[s.Track], summary="List tracks"
)
def list_tracks(
    unit: str | None = Query(None, max_length=100),
    since: str | None = Query(None),
    until: str | None = Query(None),
    cursor: Cursor = None,
    limit: int = Query(100, ge=1, le=1000),
    principal: Principal = Depends(require_inspector),
    session: Session = Depends(read_session),
) -> Page[s.Track]:
    unit_name = default_unit(principal, unit)
    query = select(Track).where(Track.unit == unit_name)
    start, stop = _instant(since, "since"), _instant(until, "until", end=True)
    if start is not None:
        query = query.where(Track.ended_at >= start)
    if stop is not None:
        query = query.where(Track.started_at < stop)
    rows, nxt = page(session, query, Track.seq, cursor, limit)
    counts = tracks.cell_counts(session, [r.id for r in rows])
    return Page[s.Track](
        items=[tracks.present(r, counts.get(r.id, 0)) for r in rows], next_cursor=nxt
    )


# -- coverage --------------------------------------------------------------------------------


@router.get(
    "/v1/coverage",
    tags=["planning: coverage"],
    response_model=s.Coverage | s.CoverageMap,
    responses=GEOJSON,
    summary="Planned vs covered cells, sites and households; blind spots; overdue sweeps",
)
def coverage(
    season: Season,
    unit: str | None = Query(None, max_length=100),
    campaign: str | None = Query(None, max_length=32),
    since: str | None = Query(None, description="ISO date (default: the plan's span)."),
    until: str | None = Query(None, description="ISO date, inclusive."),
    as_of: str | None = Query(None, description="Overdue is judged at this date (today)."),
    format: Literal["json", "geojson"] = Query("json"),
    principal: Principal = Depends(require_inspector),
    services: Services = Depends(get_services),
    session: Session = Depends(read_session),
):
    """``format=geojson`` is the map layer: every cell (covered / blind_spot / unplanned)
    and every site nobody visited."""
    unit_name = default_unit(principal, unit)
    computed = coverage_service.compute(
        session,
        unit_name,
        season,
        knobs(services),
        campaign=campaign,
        since=_day(since, "since"),
        until=_day(until, "until"),
        as_of=_day(as_of, "as_of"),
    )
    if format == "geojson":
        return GeoJSONResponse(coverage_service.feature_collection(computed))
    return computed.report


# -- period report ---------------------------------------------------------------------------

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get(
    "/v1/reports/period",
    tags=["reports"],
    response_model=s.PeriodReport,
    responses={200: {"content": {XLSX: {}, "text/csv": {}}}},
    summary="Period report upward: week / month / campaign / range (XLSX, CSV, JSON)",
)
def period_report(
    unit: list[str] = Query(
        default=[], description="Default: the key's unit (inspectors), every unit (reviewers)."
    ),
    since: str | None = Query(None),
    until: str | None = Query(None, description="Inclusive."),
    week: str | None = Query(None, description="Any date in the week (Monday–Sunday)."),
    month: str | None = Query(None, max_length=10, description="YYYY-MM"),
    campaign: str | None = Query(None, max_length=32),
    season: int | None = Query(None, ge=2000, le=2100),
    format: Literal["xlsx", "csv", "json"] = Query("xlsx"),
    table: Literal["summary", "species", "households", "tips"] = Query(
        "summary", description="For CSV (tips: tip-offs from the public per week)."
    ),
    principal: Principal = Depends(require_inspector),
    services: Services = Depends(get_services),
    session: Session = Depends(read_session),
):
    """XLSX: one sheet per table with Chinese headers, and a notes sheet with definitions.
    The households table holds personal data (the unit's own keys and reviewers only)."""
    result = report.build(
        session,
        principal,
        unit,
        since=_day(since, "since"),
        until=_day(until, "until"),
        week=_day(week, "week"),
        month=month,
        campaign=campaign,
        season=season,
        knobs=knobs(services),
    )
    first, last = result.since, result.until
    stem = f"report-{first.isoformat()}-{last.isoformat()}"
    if format == "json":
        return result
    if format == "xlsx":
        return Response(
            report_files.xlsx(result),
            media_type=XLSX,
            headers={
                "Content-Disposition": f'attachment; filename="{stem}.xlsx"',
                "X-Personal-Data": "households sheet: unit's own keys and reviewers only",
            },
        )
    headers = {"Content-Disposition": f'attachment; filename="{stem}-{table}.csv"'}
    if table == "households":
        headers["X-Personal-Data"] = (
            "household names and contacts: unit's own keys and reviewers only"
        )
    return Response(
        report_files.csv_table(result, table), media_type="text/csv; charset=utf-8", headers=headers
    )
