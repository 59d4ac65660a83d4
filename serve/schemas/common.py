"""Shapes shared by several resources."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")


class Strict(BaseModel):
    """Request bodies: an unknown field is an error, not silently dropped (a typo such as
    ``latitude`` for ``lat`` would otherwise file a record with no location)."""

    model_config = ConfigDict(extra="forbid")


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: list[dict[str, Any]] = Field(default_factory=list)


class ErrorResponse(BaseModel):
    error: ErrorDetail


class Page(BaseModel, Generic[T]):
    """One page of a list. Pass ``next_cursor`` back as ``cursor`` for the next page."""

    items: list[T]
    next_cursor: str | None = None


class ModelIdentity(BaseModel):
    name: str
    version: str
    sha256: str


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {
        "model": ErrorResponse,
        "description": "The request cannot be read (e.g. bad multipart).",
    },
    401: {"model": ErrorResponse, "description": "No API key, or an unknown / revoked one."},
    403: {"model": ErrorResponse, "description": "The key's role or unit does not allow this."},
    404: {"model": ErrorResponse, "description": "No such record, or not visible to this key."},
    422: {"model": ErrorResponse, "description": "The request is malformed; nothing changed."},
}
