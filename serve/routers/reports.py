"""Reports: coverage per unit over a date range."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from sqlalchemy.orm import Session

from plantscout.model import exports as encoder

from ..deps import read_session, require_reviewer
from ..keys import Principal
from ..schemas.common import ERROR_RESPONSES
from ..schemas.reports import CoverageReport, UnitCoverage
from ..services.coverage import coverage
from ..services.filters import parse_range

router = APIRouter(prefix="/v1/reports", tags=["reports"], responses=ERROR_RESPONSES)


@router.get(
    "/coverage",
    response_model=CoverageReport,
    responses={200: {"content": {"text/csv": {}}}},
    summary="Coverage per unit",
)
def coverage_report(
    since: str | None = Query(None, description="ISO date/datetime (inclusive)."),
    until: str | None = Query(None, description="ISO date (inclusive) or datetime (exclusive)."),
    unit: list[str] = Query(default=[]),
    format: Literal["json", "csv"] = Query("json"),
    _principal: Principal = Depends(require_reviewer),
    session: Session = Depends(read_session),
):
    """Targets checked, inspections, suspected, confirmed and plants eradicated per unit."""
    start, stop = parse_range(since, until)
    report = coverage(session, start, stop, tuple(unit))
    if format == "json":
        return report
    rows = (row.model_dump() for row in [*report.units, report.totals])
    text = "".join(encoder.csv_rows(list(UnitCoverage.model_fields), rows))
    return Response(text, media_type=encoder.MEDIA_TYPES["csv"])
