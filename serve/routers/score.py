"""``POST /v1/score``: score photos without storing anything."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form

from ..deps import get_services, require_inspector
from ..errors import Unprocessable
from ..keys import Principal
from ..schemas.common import ERROR_RESPONSES, ModelIdentity
from ..schemas.score import PhotoScore, ScoreForm, ScoreResponse
from ..state import Services
from ..uploads import accept_uploads

router = APIRouter(prefix="/v1", tags=["score"], responses=ERROR_RESPONSES)


@router.post("/score", response_model=ScoreResponse, summary="Score photos (nothing stored)")
def score(
    form: Annotated[ScoreForm, Form(media_type="multipart/form-data")],
    principal: Principal = Depends(require_inspector),
    services: Services = Depends(get_services),
) -> ScoreResponse:
    """One score per photo, and for several photos of the same plant a combined verdict."""
    limit = services.settings.max_photos
    if len(form.photos) > limit:
        raise Unprocessable(
            f"{len(form.photos)} photos sent; at most {limit} per request",
            details=[{"field": "photos", "message": f"at most {limit}"}],
        )
    scoring = services.require_scoring()
    uploads = accept_uploads(form.photos, services.settings.max_photo_bytes)
    scored = scoring.score(uploads)
    for photo in scored:
        services.metrics.scores.labels(photo.score.verdict.value, "score").inc()
    return ScoreResponse(
        model=ModelIdentity(**scoring.identity),
        photos=[
            PhotoScore(position=i, filename=p.upload.filename, score=p.score.as_dict())
            for i, p in enumerate(scored)
        ],
        combined=scoring.combined(scored),
    )
