"""Survey target shapes."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from fastapi import UploadFile
from pydantic import BaseModel, Field

from .common import Strict


class TargetImportForm(Strict):
    """Multipart form of ``POST /v1/targets/import``."""

    file: UploadFile = Field(description="GeoJSON FeatureCollection or CSV.")
    issuer: str = Field(min_length=1, max_length=100, description="Who issued the targets.")
    format: Literal["geojson", "csv"] | None = Field(
        None, description="Default: from the file name, else from the first byte."
    )


class Target(BaseModel):
    id: str
    issuer: str
    issuer_id: str
    name: str | None
    notes: str | None
    geometry: dict[str, Any] = Field(description="RFC 7946 Point, Polygon or MultiPolygon.")
    lat: float = Field(description="Representative point (centroid).")
    lon: float
    issued_on: dt.date | None
    due_on: dt.date | None
    unit: str | None
    status: str = Field(description="open, checked, cleared or eradicated (derived).")
    properties: dict[str, Any]
    linked_inspections: int
    created_at: dt.datetime
    updated_at: dt.datetime


class SuggestedInspection(BaseModel):
    id: str
    unit: str
    verdict: str
    review_state: str
    observed_at: dt.datetime
    distance_m: float


class TargetDetail(Target):
    inspection_ids: list[str]
    suggested_inspections: list[SuggestedInspection]


class ImportRowError(BaseModel):
    row: int
    issuer_id: str | None
    message: str


class ImportResult(BaseModel):
    issuer: str
    total: int
    created: int
    updated: int
    unchanged: int
    ids: list[str] = Field(description="Target ids, in file order.")
