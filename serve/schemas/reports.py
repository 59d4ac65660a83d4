"""Report shapes."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field


class UnitCoverage(BaseModel):
    unit: str
    targets_assigned: int = Field(description="Targets assigned to the unit, issued by `until`.")
    targets_checked: int = Field(
        description="Assigned targets with a linked inspection observed in the range."
    )
    targets_eradicated: int = Field(description="Assigned targets whose status is eradicated.")
    inspections: int = Field(description="Inspections the unit filed, observed in the range.")
    suspected: int = Field(description="… of which the model's verdict was `suspected`.")
    review: int = Field(description="… of which the model's verdict was `review`.")
    confirmed: int = Field(description="… of which a reviewer confirmed a controlled species.")
    plants_eradicated: int = Field(description="Plants eradicated in the range (by its date).")
    area_eradicated_m2: float


class CoverageReport(BaseModel):
    since: dt.datetime | None
    until: dt.datetime | None
    units: list[UnitCoverage]
    totals: UnitCoverage
