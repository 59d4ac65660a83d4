"""Shapes shared by several resources."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..bounds import NUL_TEXT, find_nul

T = TypeVar("T")


class Strict(BaseModel):
    """Every request body and form: the boundary checks live here, once.

    - an unknown field is an error, not silently dropped (a typo such as ``latitude`` for
      ``lat`` would otherwise file a record with no location);
    - text holding a NUL character is refused (PostgreSQL cannot store it; SQLite would, so
      the two backends would disagree);
    - NaN and infinity are refused in every number (JSON has neither; ``jsonb`` refuses them).
    """

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        where = find_nul(dict(data) if isinstance(data, dict) else data)
        if where is not None:
            raise ValueError(f"{where} holds {NUL_TEXT}")
        return data


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


ERROR_TEXT = {
    400: "The request cannot be parsed.",
    401: "No API key, or an unknown / revoked one.",
    403: "The key's role or unit does not allow this.",
    404: "No such resource (or not one this key may see).",
    408: "The request body stopped arriving and was cut off.",
    409: "Conflicts with the resource's current state.",
    412: "If-Match names an older version: reload and retry.",
    413: "The request or one of its files is too large.",
    422: "The request is malformed; nothing changed.",
    429: "Too many requests: retry after the time in Retry-After.",
    503: "Not ready (no model) or busy (uploads in flight): see Retry-After when given.",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for these error statuses, each with the one error shape."""
    return {code: {"model": ErrorResponse, "description": ERROR_TEXT[code]} for code in codes}
