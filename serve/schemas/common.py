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
    401: {"model": ErrorResponse, "description": "No API key, or an unknown / revoked one."},
    403: {"model": ErrorResponse, "description": "The key's role or unit does not allow this."},
    422: {"model": ErrorResponse, "description": "The request is malformed; nothing changed."},
}
