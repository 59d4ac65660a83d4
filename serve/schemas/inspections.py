"""Inspection shapes: the upload form, the record, and the review / eradication patch."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import UploadFile
from pydantic import AfterValidator, AwareDatetime, BaseModel, Field, model_validator

from ..bounds import EARLIEST, RANGE_TEXT
from ..vocab import EradicationMethod, ReviewState, SiteType
from .common import ModelIdentity, Strict


class InspectionForm(Strict):
    """Multipart form of ``POST /v1/inspections``."""

    photos: list[UploadFile] = Field(min_length=1, description="1–10 photos of the plant.")
    id: UUID | None = Field(
        None,
        description="Client-generated id (UUID). Re-sending the same id returns the record "
        "already filed instead of filing it twice (offline queues retry safely).",
    )
    inspector: str | None = Field(
        None, min_length=1, max_length=100, description="Officer's name; default: the key's name."
    )
    unit: str | None = Field(
        None, min_length=1, max_length=100, description="Unit filing it; default: the key's unit."
    )
    site_type: SiteType
    notes: str | None = Field(None, max_length=4000)
    lat: float | None = Field(None, ge=-90, le=90, description="Device latitude (WGS 84).")
    lon: float | None = Field(None, ge=-180, le=180, description="Device longitude (WGS 84).")
    accuracy_m: float | None = Field(None, ge=0, le=100_000, description="Device GPS accuracy.")
    location_source: Literal["device", "manual"] = Field(
        "device", description="`manual`: lat/lon were placed by hand and win over photo GPS."
    )
    observed_at: AwareDatetime | None = Field(
        None, description="When the plant was seen (with offset); default: photo time or now."
    )
    target_id: str | None = Field(None, max_length=36, description="Survey target checked.")

    @model_validator(mode="after")
    def _both_or_neither(self) -> InspectionForm:
        if (self.lat is None) != (self.lon is None):
            raise ValueError("lat and lon must be given together")
        if self.accuracy_m is not None and self.lat is None:
            raise ValueError("accuracy_m needs lat and lon")
        return self


class Point(BaseModel):
    lat: float
    lon: float
    accuracy_m: float | None = None


class Location(BaseModel):
    lat: float | None
    lon: float | None
    accuracy_m: float | None
    source: str = Field(description="photo, device, manual or none")
    device: Point | None
    photo: Point | None
    disagreement_m: float | None = Field(description="Photo GPS to device GPS distance.")
    conflict: bool = Field(description="Photo and device GPS disagree by more than the limit.")


class Review(BaseModel):
    state: ReviewState
    label: str | None = None
    note: str | None = None
    by: str | None = None
    at: dt.datetime | None = None


class Eradication(BaseModel):
    date: dt.date
    plants: int
    area_m2: float | None = None
    method: EradicationMethod
    note: str | None = None


class PhotoGps(BaseModel):
    lat: float
    lon: float
    altitude_m: float | None = None


class Photo(BaseModel):
    position: int
    sha256: str
    url: str
    filename: str | None
    content_type: str
    n_bytes: int
    width: int
    height: int
    verdict: str
    gps: PhotoGps | None
    captured_at: dt.datetime | None
    score: dict[str, Any] | None = Field(None, description="Full score (detail view only).")


class AuditEntry(BaseModel):
    action: str
    at: dt.datetime
    actor: str | None
    actor_key_id: str | None
    role: str | None
    changes: dict[str, Any] = Field(description="field: [old, new]")


class SuggestedTarget(BaseModel):
    id: str
    issuer: str
    issuer_id: str
    status: str
    distance_m: float


class Inspection(BaseModel):
    id: str
    inspector: str
    unit: str
    site_type: SiteType
    notes: str | None
    location: Location
    observed_at: dt.datetime
    observed_at_source: str = Field(description="client, photo or server")
    observed_at_rejected: str | None = Field(
        None,
        description="A client time outside 1900–2199 (a phone clock gone wrong), as sent: "
        "ignored, so the record was filed with the photo or server time instead.",
    )
    captured_at: dt.datetime | None
    received_at: dt.datetime
    verdict: str
    combined: dict[str, Any]
    model: ModelIdentity
    review: Review
    eradication: Eradication | None
    target_id: str | None
    photos: list[Photo]
    created_by: str
    version: int
    updated_at: dt.datetime


class InspectionDetail(Inspection):
    audit: list[AuditEntry]
    suggested_targets: list[SuggestedTarget]


class ReviewPatch(Strict):
    state: ReviewState
    note: str | None = Field(None, max_length=4000)
    label: str | None = Field(
        None,
        max_length=64,
        description="Training label when the state alone is ambiguous (which look-alike); "
        "default: inferred from the state and the model's finding.",
    )


def _storable_date(day: dt.date) -> dt.date:
    """Before the stored range only: a date in the future is refused, with that reason, when
    the patch is applied (the service knows today's date; a schema does not)."""
    if day < EARLIEST.date():
        raise ValueError(f"dates must lie in {RANGE_TEXT}")
    return day


class EradicationPatch(Strict):
    date: Annotated[dt.date, AfterValidator(_storable_date)]
    plants: int = Field(ge=0, le=10_000_000)
    area_m2: float | None = Field(None, ge=0, le=1e9)
    method: EradicationMethod
    note: str | None = Field(None, max_length=4000)


class InspectionPatch(Strict):
    """Only the fields present change; ``null`` clears eradication or the target link."""

    review: ReviewPatch | None = None
    eradication: EradicationPatch | None = None
    target_id: str | None = Field(None, max_length=36)

    @model_validator(mode="after")
    def _something(self) -> InspectionPatch:
        if not self.model_fields_set:
            raise ValueError("nothing to change: give review, eradication or target_id")
        if "review" in self.model_fields_set and self.review is None:
            raise ValueError("review cannot be removed; set state to pending instead")
        return self
