"""Patrol-planning shapes: registries, history, priorities, plans, tracks, coverage, reports.

Household names, contacts and addresses (``Household``) are personal data: the endpoints
that return them admit only the unit's own keys and reviewers.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, Field, field_validator, model_validator

from ..vocab import SiteType
from .common import Strict
from .tips import TipsSummary

Outcome = Literal["confirmed", "eradicated", "false_alarm"]
Species = Literal["opium_poppy", "cannabis", "unknown"]
PERSONAL_DATA_NOTICE = (
    "含个人信息（住户姓名、联系方式、地址），仅限本单位及复核人员使用 / contains personal "
    "data (household names, contacts, addresses): for the unit's own keys and reviewers only"
)


def _no_nul(value: Any, where: str = "") -> None:
    if isinstance(value, str) and "\x00" in value:
        raise ValueError(f"{where or 'a text field'} contains a NUL character")
    if isinstance(value, dict):
        for key, item in value.items():
            _no_nul(item, f"{where}.{key}".strip("."))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _no_nul(item, f"{where}.{index}".strip("."))


class Body(Strict):
    """Request bodies of the planning API: unknown fields and NUL characters are refused
    (PostgreSQL cannot store NUL in text; it would otherwise fail as a 500)."""

    @model_validator(mode="before")
    @classmethod
    def _refuse_nul(cls, data: Any) -> Any:
        _no_nul(data)
        return data


def _sane_year(value: dt.date | dt.datetime | None, name: str) -> None:
    if value is not None and not 1950 <= value.year <= 2100:
        raise ValueError(f"{name} {value.isoformat()} is outside 1950–2100")


class PlanImportResult(BaseModel):
    kind: str = Field(description="units, sites, households or history")
    total: int
    created: int
    updated: int
    unchanged: int
    encoding: str = Field(description="How the file's text was read (utf-8, gb18030, utf-16).")
    ids: list[str] = Field(description="Record ids, in file order.")


class Unit(BaseModel):
    id: str
    name: str
    parent: str | None
    geometry: dict[str, Any] = Field(description="Polygon / MultiPolygon, or a Point.")
    radius_m: float | None = Field(description="For a Point: the radius it stands for.")
    lat: float
    lon: float
    cells: int = Field(description="Grid cells at the service's resolution.")
    area_km2: float
    simulation: bool
    updated_at: dt.datetime


class Household(BaseModel):
    id: str
    unit: str
    external_id: str
    village_group: str | None
    head_name: str | None
    contact: str | None
    address: str | None
    past_offender: bool
    offence_years: list[int]
    pledge_signed_on: dt.date | None
    notice_served_on: dt.date | None
    notes: str | None
    sites: int
    simulation: bool
    version: int
    updated_at: dt.datetime


class HouseholdPatch(Body):
    """Only the fields present change (``null`` clears a date). Audited."""

    pledge_signed_on: dt.date | None = None
    notice_served_on: dt.date | None = None
    past_offender: bool | None = None
    offence_years: list[int] | None = Field(None, max_length=100)
    contact: str | None = Field(None, max_length=200)
    address: str | None = Field(None, max_length=300)
    head_name: str | None = Field(None, max_length=100)
    village_group: str | None = Field(None, max_length=100)
    notes: str | None = Field(None, max_length=4000)

    @model_validator(mode="after")
    def _something(self) -> HouseholdPatch:
        if not self.model_fields_set:
            raise ValueError("nothing to change")
        for name in ("pledge_signed_on", "notice_served_on"):
            _sane_year(getattr(self, name), name)
        for year in self.offence_years or []:
            if not 1950 <= year <= 2100:
                raise ValueError(f"offence year {year} is outside 1950–2100")
        return self


class Site(BaseModel):
    id: str
    unit: str
    external_id: str
    name: str | None
    site_type: SiteType
    geometry: dict[str, Any]
    lat: float
    lon: float
    household_id: str | None
    household_external_id: str | None
    past_offence: bool = Field(description="The site or its household has a recorded offence.")
    offence_years: list[int]
    notes: str | None
    simulation: bool


class HistoryPoint(BaseModel):
    id: str
    source: str
    source_id: str
    unit: str
    lat: float
    lon: float
    year: int
    observed_on: dt.date | None
    outcome: Outcome
    species: Species
    plants: int | None
    area_m2: float | None
    notes: str | None
    simulation: bool


class Campaign(Body):
    key: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_\-]+$")
    name: str | None = Field(None, max_length=100, description="e.g. 春季预防 / spring prevention")
    kind: Literal["prevent", "eradicate", "other"] = Field(
        "other", description="prevent (spring: stop planting), eradicate (summer), other"
    )
    starts_on: dt.date
    ends_on: dt.date

    @model_validator(mode="after")
    def _ordered(self) -> Campaign:
        _sane_year(self.starts_on, "starts_on")
        _sane_year(self.ends_on, "ends_on")
        if self.ends_on < self.starts_on:
            raise ValueError(f"campaign {self.key}: ends_on {self.ends_on} is before starts_on")
        return self


class PlanItemIn(Body):
    kind: Literal["cell", "site", "household"]
    ref: str = Field(
        min_length=1,
        max_length=100,
        description="An H3 cell id, or a site / household id (or its external id).",
    )
    campaign: str = Field(max_length=32)
    sweeps: int = Field(1, ge=1, le=100, description="How many visits on different days.")
    starts_on: dt.date | None = Field(None, description="Default: the campaign's start.")
    due_on: dt.date | None = Field(None, description="Default: the campaign's end.")
    note: str | None = Field(None, max_length=500)

    @model_validator(mode="after")
    def _sane(self) -> PlanItemIn:
        _sane_year(self.starts_on, "starts_on")
        _sane_year(self.due_on, "due_on")
        return self


class PlanFill(Body):
    """Fill the plan from the priorities and the registry (added to any listed items)."""

    top_percent: float = Field(20, gt=0, le=100, description="Top cells by priority.")
    cell_sweeps: int = Field(2, ge=1, le=100)
    offender_sweeps: int = Field(3, ge=1, le=100, description="Past offenders and their sites.")
    campaigns: list[str] | None = Field(None, description="Default: every campaign.")


class PlanIn(Body):
    name: str | None = Field(None, max_length=200)
    campaigns: list[Campaign] = Field(min_length=1, max_length=12)
    items: list[PlanItemIn] = Field(default_factory=list, max_length=20_000)
    fill: PlanFill | None = None

    @model_validator(mode="after")
    def _consistent(self) -> PlanIn:
        keys = [c.key for c in self.campaigns]
        if len(set(keys)) != len(keys):
            raise ValueError("campaign keys must differ")
        known = set(keys)
        for item in self.items:
            if item.campaign not in known:
                raise ValueError(f"item {item.ref}: unknown campaign {item.campaign!r}")
        if self.fill and self.fill.campaigns:
            unknown = set(self.fill.campaigns) - known
            if unknown:
                raise ValueError(f"fill: unknown campaign {sorted(unknown)[0]!r}")
        return self


class PlanItem(BaseModel):
    kind: str
    ref: str
    label: str | None = Field(description="Site / household external id; cell id for cells.")
    campaign: str
    sweeps: int
    starts_on: dt.date
    due_on: dt.date
    note: str | None


class Plan(BaseModel):
    id: str
    unit: str
    season: int
    name: str | None
    resolution: int
    campaigns: list[Campaign]
    items: list[PlanItem]
    counts: dict[str, int] = Field(description="Items per kind.")
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


class PlanSummary(BaseModel):
    id: str
    unit: str
    season: int
    name: str | None
    campaigns: list[Campaign]
    counts: dict[str, int]
    version: int
    updated_at: dt.datetime


class TrackPointIn(Body):
    lat: float = Field(ge=-90, le=90, allow_inf_nan=False)
    lon: float = Field(ge=-180, le=180, allow_inf_nan=False)
    at: AwareDatetime
    accuracy_m: float | None = Field(None, ge=0, le=100_000, allow_inf_nan=False)

    @field_validator("at")
    @classmethod
    def _sane_time(cls, value: dt.datetime) -> dt.datetime:
        _sane_year(value, "at")
        return value


class TrackIn(Body):
    id: UUID = Field(description="Made on the phone: re-sending a chunk returns it (200).")
    unit: str | None = Field(None, min_length=1, max_length=100, description="Default: the key's.")
    inspector: str | None = Field(None, min_length=1, max_length=100)
    points: list[TrackPointIn] = Field(min_length=1, max_length=5000)

    @model_validator(mode="after")
    def _in_order(self) -> TrackIn:
        for i, (a, b) in enumerate(zip(self.points, self.points[1:], strict=False), start=1):
            if b.at < a.at:
                raise ValueError(f"points are out of time order at point {i + 1}")
        return self


class Track(BaseModel):
    id: str
    unit: str
    inspector: str
    started_at: dt.datetime
    ended_at: dt.datetime
    points: int
    used_points: int = Field(description="Accurate enough to credit cells and sites.")
    distance_m: float
    cells: int = Field(description="Grid cells walked (at the track's resolution).")
    created_at: dt.datetime


class Window(BaseModel):
    since: dt.date
    until: dt.date = Field(description="Inclusive.")


class CellCoverage(BaseModel):
    jurisdiction: int
    covered: int
    share: float
    planned: int
    planned_covered: int
    planned_share: float
    blind_spots: list[str] = Field(description="Planned cells nobody visited in the window.")


class SiteRef(BaseModel):
    id: str
    external_id: str
    name: str | None
    site_type: str
    lat: float
    lon: float


class HouseholdRef(BaseModel):
    id: str
    external_id: str
    village_group: str | None
    head_name: str | None
    sites: int


class SiteCoverage(BaseModel):
    planned: int
    covered: int
    share: float
    uncovered: list[SiteRef]


class HouseholdCoverage(BaseModel):
    planned: int
    covered: int
    share: float
    uncovered: list[HouseholdRef]


class SweepStatus(BaseModel):
    kind: str
    ref: str
    label: str | None
    campaign: str
    sweeps: int
    done: int = Field(description="Visits on different days inside the item's window.")
    starts_on: dt.date
    due_on: dt.date
    overdue: bool = Field(description="Due date passed with fewer visits than planned.")


class TargetCheck(BaseModel):
    id: str
    issuer: str
    issuer_id: str
    issued_on: dt.date | None
    due_on: dt.date | None
    first_checked_on: dt.date | None
    state: Literal["on_time", "late", "overdue", "pending"]


class TargetCoverage(BaseModel):
    total: int
    on_time: int
    late: int
    overdue: int
    pending: int
    items: list[TargetCheck]


class Coverage(BaseModel):
    unit: str
    season: int
    window: Window
    as_of: dt.date
    plan_id: str | None = Field(description="Without a plan, the whole jurisdiction is planned.")
    resolution: int
    cells: CellCoverage
    sites: SiteCoverage
    households: HouseholdCoverage
    repeat_sweeps: list[SweepStatus] = Field(description="Items planned more than once.")
    overdue_sweeps: int
    targets: TargetCoverage
    personal_data: str = PERSONAL_DATA_NOTICE


class ReportRow(BaseModel):
    unit: str
    turnouts: int = Field(description="Patrol turnouts: distinct (officer, day) pairs.")
    inspections: int
    track_km: float
    cells_covered: int
    area_covered_km2: float
    cells_total: int
    coverage_share: float
    targets_issued: int
    targets_checked: int
    targets_on_time: int
    found_opium_poppy: int
    found_cannabis: int
    eradications: int
    plants_eradicated: int
    area_eradicated_m2: float
    pledges_signed: int
    notices_served: int


class SpeciesRow(BaseModel):
    unit: str
    species: str
    found: int
    eradications: int
    plants_eradicated: int
    area_eradicated_m2: float


class HouseholdAction(BaseModel):
    unit: str
    external_id: str
    village_group: str | None
    head_name: str | None
    contact: str | None
    pledge_signed_on: dt.date | None
    notice_served_on: dt.date | None


class PeriodReport(BaseModel):
    title: str
    since: dt.date
    until: dt.date = Field(description="Inclusive.")
    period: str = Field(description="week, month, campaign or range")
    units: list[ReportRow]
    totals: ReportRow
    species: list[SpeciesRow]
    households: list[HouseholdAction]
    simulation: bool = Field(description="Some data in it comes from a simulation.")
    generated_at: dt.datetime
    generated_by: str | None
    personal_data: str = PERSONAL_DATA_NOTICE
    tips: TipsSummary | None = Field(
        None,
        description="Tip-offs from the public received in the period (issue 15): per week and in "
        "total; the whole office's, or a unit's own (tips turned into its targets).",
    )


class BacktestOut(BaseModel):
    units: list[str]
    years: list[int]
    resolution: int
    result: dict[str, Any]
    simulation: bool


class Reason(BaseModel):
    code: str = Field(description="history, recurrence, border, offenders or staleness")
    weight: float = Field(description="This reason's share of the score.")
    zh: str
    en: str


class PriorityProperties(BaseModel):
    cell: str = Field(description="H3 cell id.")
    rank: int = Field(description="1 = visit first.")
    score: float
    percentile: float = Field(description="rank as a percentage of the unit's cells")
    reasons: list[Reason] = Field(description="The top reasons, largest first.")
    features: dict[str, float]
    last_patrolled: dt.date | None


class PriorityFeature(BaseModel):
    type: Literal["Feature"] = "Feature"
    id: str
    geometry: dict[str, Any]
    properties: PriorityProperties


class PriorityAreas(BaseModel):
    """A GeoJSON FeatureCollection of the unit's cells, best first."""

    type: Literal["FeatureCollection"] = "FeatureCollection"
    unit: str
    season: int
    as_of: dt.date
    resolution: int
    cells: int
    weights: dict[str, float]
    simulation: bool
    generated_at: dt.datetime
    features: list[PriorityFeature]


class CoverageFeature(BaseModel):
    type: Literal["Feature"] = "Feature"
    id: str
    geometry: dict[str, Any]
    properties: dict[str, Any] = Field(
        description="kind (cell / site), status (covered / blind_spot / unplanned), visits …"
    )


class CoverageMap(BaseModel):
    """The coverage layer as GeoJSON: every cell, and the sites nobody visited."""

    type: Literal["FeatureCollection"] = "FeatureCollection"
    unit: str
    season: int
    window: dict[str, str]
    as_of: dt.date
    cells: dict[str, Any]
    simulation: bool
    features: list[CoverageFeature]
