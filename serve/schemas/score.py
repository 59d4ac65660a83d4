"""``POST /v1/score``: photos in, scores out; nothing stored."""

from __future__ import annotations

from typing import Any

from fastapi import UploadFile
from pydantic import BaseModel, Field

from .common import ModelIdentity, Strict


class ScoreForm(Strict):
    photos: list[UploadFile] = Field(
        min_length=1, description="One or more photos of the same plant (JPEG, PNG, WebP, HEIC)."
    )


class PhotoScore(BaseModel):
    position: int
    filename: str | None
    score: dict[str, Any] = Field(description="`Score.as_dict()`: verdict, probabilities, …")


class ScoreResponse(BaseModel):
    model: ModelIdentity
    photos: list[PhotoScore]
    combined: dict[str, Any] = Field(description="One verdict for all photos of the plant.")
