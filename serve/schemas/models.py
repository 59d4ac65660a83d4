"""Model lifecycle and reference-gallery shapes (``/v1/models``, ``/v1/gallery``)."""

from __future__ import annotations

from typing import Any

from fastapi import UploadFile
from pydantic import BaseModel, ConfigDict, Field

from .common import ModelIdentity, Strict


class ChangeRequest(Strict):
    version: str = Field(
        min_length=1, max_length=300, description="Registry folder name, version, or sha256 prefix."
    )
    note: str = Field("", max_length=500)


class RollbackRequest(Strict):
    note: str = Field("", max_length=500)


class GalleryIdentity(BaseModel):
    name: str
    sha256: str
    bundle_sha256: str | None = Field(description="The bundle that embedded the references.")
    references: int
    labels: dict[str, int] = Field(description="References per label.")


class Serving(BaseModel):
    """The bundle (and gallery) answering requests now."""

    key: str | None = Field(description="Registry entry; None: loaded outside the registry.")
    model: ModelIdentity
    gallery: GalleryIdentity | None
    loaded_at: str


class ReloadResult(Serving):
    changed: bool = Field(description="Whether the reload swapped the served bundle.")


class RegisteredBundle(BaseModel):
    key: str
    name: str
    version: str
    created: str | None
    sha256: str
    architecture: str | None
    labels: list[str]
    untrained_controlled: list[str]
    metrics: dict[str, Any] | None = Field(description="As measured into the bundle's card.")
    training: dict[str, Any] | None
    limitations: list[str]
    current: bool


class HistoryEvent(BaseModel):
    """One line of the registry's history (promote, rollback, add …)."""

    model_config = ConfigDict(extra="allow")

    time: str
    action: str | None = None


class ModelList(BaseModel):
    serving: Serving
    registry: str = Field(description="The registry folder on the server.")
    bundles: list[RegisteredBundle]
    damaged: dict[str, str] = Field(description="Registered folders that no longer load: why.")
    history: list[HistoryEvent] = Field(description="The last 20 events.")


class LabelRule(BaseModel):
    """Calibrated similarity thresholds for one label, with the numbers behind them."""

    label: str
    match: float | None
    alert: float | None
    references: int
    groups: int
    held_out_positives: int
    negatives: int
    recall_at_match: float | None
    false_rate_at_match: float | None
    recall_at_alert: float | None
    false_rate_at_alert: float | None
    worst_negative_kind: str | None
    worst_false_rate_at_match: float | None
    note: str


class GalleryReference(BaseModel):
    label: str
    sha256: str
    source: str
    licence: str
    group: str
    added: str


class GalleryView(BaseModel):
    model: ModelIdentity
    gallery: GalleryIdentity | None
    negatives: int | None = None
    rules: dict[str, LabelRule] | None = None
    references: list[GalleryReference] | None = Field(
        None, description="Listed by GET /v1/gallery only."
    )


class GalleryAdded(GalleryView):
    added: int


class GalleryRemoved(GalleryView):
    removed: int


class ReferencesForm(Strict):
    """Multipart form of ``POST /v1/gallery/references``."""

    label: str = Field(min_length=1, max_length=64, description="Taxonomy key, e.g. opium_poppy.")
    photos: list[UploadFile] = Field(min_length=1, description="Reference photos.")
    source: str = Field("", max_length=300)
    licence: str = Field("", max_length=300)
    group: str = Field(
        "", max_length=200, description="Same plant / field / case (default: this upload)."
    )


class NegativesForm(Strict):
    """Multipart form of ``POST /v1/gallery/negatives``."""

    photos: list[UploadFile] = Field(min_length=1, description="Look-alikes and other plants.")
    label: str = Field("", max_length=64, description="What they show, if known.")
    source: str = Field("", max_length=300)
