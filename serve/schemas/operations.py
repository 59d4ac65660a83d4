"""Shapes of the operational answers: health, readiness, settings, the field page's taxonomy."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from ..vocab import Role
from .common import ModelIdentity


class Health(BaseModel):
    status: str = Field(description="ok")


class Readiness(BaseModel):
    status: str = Field(description="ready or not_ready")
    checks: dict[str, dict[str, Any]] = Field(
        description="database, model, photo_store: each with ok and what it found."
    )


class SettingsView(BaseModel):
    settings: dict[str, Any] = Field(description="Settings in effect; secrets masked.")
    model: ModelIdentity | None
    model_error: str | None
    schema_revision: str | None


class Text(BaseModel):
    zh: str
    en: str


class TaxonomyLabel(BaseModel):
    key: str
    scientific_name: str
    name: Text
    role: str = Field(description="controlled, lookalike, other_plant or non_plant")
    description: Text
    lookalike_of: str | None
    field_marks: list[Text]


class Taxonomy(BaseModel):
    labels: list[TaxonomyLabel]


class Me(BaseModel):
    """Who an API key is (``GET /v1/me``)."""

    key_id: str
    name: str
    role: Role
    unit: str | None
