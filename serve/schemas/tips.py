"""Shapes of the public check, tip-offs, their status, triage, rewards and the office's numbers.

Public shapes (``CheckResult``, ``TipReceipt``, ``PublicStatus``, ``Learn``) carry nothing from
any record but the asker's own tip: no ids of inspections, targets or units, no other tips.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal
from uuid import UUID

from fastapi import UploadFile
from pydantic import AwareDatetime, BaseModel, Field, model_validator

from .common import ErrorResponse, ModelIdentity, Strict
from .inspections import AuditEntry

Outcome = Literal["received", "checking", "confirmed", "not_confirmed", "dismissed"]
PublicPhase = Literal["received", "checking", "confirmed", "not_confirmed"]
DismissReason = Literal[
    "not_drug_plant", "duplicate", "no_location", "outside_area", "abuse", "other"
]


class Text(BaseModel):
    zh: str
    en: str


PUBLIC_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorResponse, "description": "Public pages switched off, or no such tip."},
    413: {"model": ErrorResponse, "description": "A photo or the request is too large."},
    422: {"model": ErrorResponse, "description": "The request is malformed; nothing changed."},
    429: {
        "model": ErrorResponse,
        "description": "Too many requests: wait the Retry-After seconds and try again.",
    },
}


class _Checked(Strict):
    """Refuses NUL characters in any text field (PostgreSQL cannot store them; SQLite can,
    so the backends would disagree). ``Strict`` may already do so; this keeps tips safe
    whichever way the shared boundary checks go."""

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key, value in data.items():
                if isinstance(value, str) and "\x00" in value:
                    raise ValueError(f"{key} holds a NUL character (U+0000), which is refused")
        return data


# ---------- the public check ----------


class CheckForm(Strict):
    photos: list[UploadFile] = Field(
        min_length=1, description="1–3 photos of one plant; scored, then discarded."
    )


class PhotoRef(BaseModel):
    url: str
    label: str
    caption: Text
    attribution: str = Field(description="Source, author where known, and licence.")


class PossibleSpecies(BaseModel):
    key: str
    name: Text
    level: str = Field(description="alert or review: either way only 'may be'.")


class Lookalike(BaseModel):
    key: str
    name: Text
    description: Text
    how_to_tell: list[Text]
    photos: list[PhotoRef]


class CheckResult(BaseModel):
    outcome: Literal["report", "unlikely", "retake"] = Field(
        description="report: may be a drug plant, report it; unlikely: does not look like one; "
        "retake: no usable photo."
    )
    species: list[PossibleSpecies] = Field(description="Drug plants it may be (never certain).")
    field_marks: list[Text]
    lookalikes: list[Lookalike]
    retake_reasons: list[Text]
    caveats: list[Text]
    photos: int
    model: ModelIdentity


# ---------- tip-offs ----------


class TipForm(_Checked):
    """Multipart form of ``POST /v1/public/tips``."""

    id: UUID | None = Field(
        None, description="Made on the phone; re-sending it returns the tip already received."
    )
    secret: str | None = Field(
        None,
        max_length=64,
        description="12–32 Crockford base-32 symbols made on the phone (kept there until sent); "
        "without it the server makes one and returns it once.",
    )
    photos: list[UploadFile] = Field(default_factory=list, description="0–3 photos.")
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)
    accuracy_m: float | None = Field(None, ge=0, le=100_000)
    location_source: Literal["device", "manual"] = Field(
        "device", description="manual: a pin placed on the map."
    )
    place: str | None = Field(None, max_length=500, description="Where, in words.")
    description: str | None = Field(None, max_length=2000, description="What was seen.")
    contact: str | None = Field(
        None, max_length=200, description="Optional; only reviewers see it."
    )
    observed_at: AwareDatetime | None = None
    website: str | None = Field(
        None, max_length=500, description="Leave empty (a field people never see)."
    )

    @model_validator(mode="after")
    def _both_or_neither(self) -> TipForm:
        if (self.lat is None) != (self.lon is None):
            raise ValueError("lat and lon must be given together")
        if self.accuracy_m is not None and self.lat is None:
            raise ValueError("accuracy_m needs lat and lon")
        return self


class TipReceipt(BaseModel):
    id: str
    code: str = Field(description="The tip code (show it to the tipster).")
    secret: str | None = Field(
        None, description="Only when the server made it: shown this once, stored hashed."
    )
    received_at: dt.datetime
    phase: PublicPhase = "received"


class StatusQuery(_Checked):
    code: str = Field(min_length=1, max_length=32)
    secret: str = Field(min_length=1, max_length=64)


class PublicReward(BaseModel):
    decision: Literal["eligible", "not_eligible"]
    amount: int | None = Field(None, description="Yuan.")
    paid_on: dt.date | None = None


class PublicStatus(BaseModel):
    code: str
    phase: PublicPhase
    received_on: dt.date
    reward: PublicReward | None = None


# ---------- teaching ----------


class Stage(BaseModel):
    key: str
    name: Text
    look: Text


class Species(BaseModel):
    key: str
    scientific_name: str
    name: Text
    description: Text
    stages: list[Stage]
    field_marks: list[Text]
    photos: list[PhotoRef]
    lookalikes: list[Lookalike]
    detectable: bool = Field(
        description="Whether the served model was trained on it (false for opium poppy today)."
    )


class Section(BaseModel):
    title: Text
    paragraphs: list[Text]


class Learn(BaseModel):
    species: list[Species]
    law: Section
    rewards: Section
    check_limits: Section
    hotline: str | None


# ---------- reviewers ----------


class TipLocation(BaseModel):
    lat: float | None
    lon: float | None
    accuracy_m: float | None
    source: str
    photo_lat: float | None
    photo_lon: float | None


class RewardOut(BaseModel):
    decision: Literal["eligible", "not_eligible"]
    amount: int | None
    paid_on: dt.date | None
    note: str | None
    decided_by: str | None
    decided_at: dt.datetime | None


class TipOut(BaseModel):
    id: str
    code: str
    received_at: dt.datetime
    observed_at: dt.datetime
    observed_at_source: str
    location: TipLocation
    place: str | None
    description: str | None
    contact: str | None
    verdict: str | None = Field(description="Combined verdict of the photos; none without.")
    combined: dict[str, Any] | None
    model: ModelIdentity | None
    photos: int
    group_id: str
    group_reason: str | None = Field(description="photo / place: why it joined its group.")
    triage: Literal["new", "targeted", "dismissed"]
    dismiss_reason: str | None
    triage_note: str | None
    triaged_by: str | None
    triaged_at: dt.datetime | None
    target_id: str | None
    outcome: Outcome = Field(description="Derived from the linked target and its inspections.")
    first_check_at: dt.datetime | None = Field(
        description="The first ground inspection of its target after the tip arrived."
    )
    reward: RewardOut | None
    version: int


class TipPhotoOut(BaseModel):
    position: int
    url: str
    sha256: str
    content_type: str
    width: int
    height: int
    verdict: str
    score: dict[str, Any]
    gps_lat: float | None
    gps_lon: float | None
    captured_at: dt.datetime | None


class GroupMember(BaseModel):
    id: str
    code: str
    received_at: dt.datetime
    verdict: str | None
    triage: str
    outcome: Outcome
    group_reason: str | None


class TargetBrief(BaseModel):
    id: str
    issuer: str
    issuer_id: str
    name: str | None
    status: str
    unit: str | None


class TipDetail(TipOut):
    photo_list: list[TipPhotoOut]
    group: list[GroupMember]
    target: TargetBrief | None
    audit: list[AuditEntry]


class TipGroup(BaseModel):
    group_id: str
    size: int
    latest_received_at: dt.datetime
    lead: TipOut
    members: list[GroupMember]


class TargetFromTip(_Checked):
    scope: Literal["group", "tip"] = Field(
        "group", description="group: every tip of its group (the default); tip: this one."
    )
    target_id: str | None = Field(
        None, max_length=36, description="Link an existing target instead of making one."
    )
    name: str | None = Field(None, max_length=300)
    unit: str | None = Field(None, min_length=1, max_length=100, description="Who checks it.")
    due_on: dt.date | None = None
    notes: str | None = Field(None, max_length=4000)


class Dismissal(_Checked):
    reason: DismissReason
    note: str | None = Field(None, max_length=4000)
    scope: Literal["group", "tip"] = "group"


class RewardDecision(_Checked):
    decision: Literal["eligible", "not_eligible"]
    amount: int | None = Field(None, ge=1, le=10_000_000, description="Yuan; when eligible.")
    paid_on: dt.date | None = Field(
        None, description="When paid; needs the claimant's secret (claim_secret)."
    )
    note: str | None = Field(None, max_length=2000)
    claim_secret: str | None = Field(
        None, max_length=64, description="The secret the claimant shows; checked, never stored."
    )


class WeekRow(BaseModel):
    week: dt.date = Field(description="Monday of the ISO week.")
    received: int
    new_groups: int
    confirmed: int
    not_confirmed: int
    median_hours_to_first_check: float | None
    rewards_paid: int
    reward_amount_paid: int


class Totals(BaseModel):
    received: int
    groups: int
    triaged: int
    confirmed: int
    not_confirmed: int
    share_confirmed: float | None = Field(description="confirmed / (confirmed + not confirmed)")
    median_hours_to_triage: float | None
    median_hours_to_first_check: float | None
    rewards_eligible: int
    rewards_paid: int
    reward_amount_paid: int


class TipsSummary(BaseModel):
    since: dt.date
    until: dt.date
    weeks: list[WeekRow]
    totals: Totals
    definitions: dict[str, str]
