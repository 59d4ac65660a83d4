"""Inspections: file (multipart), list with filters, read, download photos, review."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Header, Path, Query, Response
from fastapi.responses import FileResponse
from sqlalchemy.orm import Session

from ..deps import get_services, read_session, require_inspector, require_reviewer
from ..errors import NotFound
from ..keys import Principal
from ..models import Inspection
from ..schemas.common import ERROR_RESPONSES, Page, error_responses
from ..schemas.inspections import Inspection as InspectionOut
from ..schemas.inspections import (
    InspectionDetail,
    InspectionForm,
    InspectionPatch,
    SuggestedTarget,
)
from ..services import audit, present
from ..services import inspections as service
from ..services import targets as target_service
from ..services.filters import InspectionFilter, decode_cursor, inspection_filter
from ..state import Services

router = APIRouter(prefix="/v1/inspections", tags=["inspections"], responses=ERROR_RESPONSES)

InspectionId = Annotated[str, Path(max_length=36)]


def _detail(
    session: Session, services: Services, principal: Principal, row: Inspection
) -> InspectionDetail:
    suggestions: list[SuggestedTarget] = []
    if row.target_id is None and row.lat is not None and row.lon is not None:
        near = target_service.targets_near(
            session, row.lat, row.lon, services.settings.suggest_radius_m, principal
        )
        suggestions = [
            SuggestedTarget(
                id=t.id,
                issuer=t.issuer,
                issuer_id=t.issuer_id,
                status=t.status,
                distance_m=round(d, 1),
            )
            for t, d in near
        ]
    base = present.inspection(row, with_scores=True)
    return InspectionDetail(
        **base.model_dump(),
        audit=[present.audit_entry(e) for e in audit.history(session, "inspection", row.id)],
        suggested_targets=suggestions,
    )


@router.post(
    "",
    status_code=201,
    response_model=InspectionDetail,
    summary="File an inspection (photos + metadata)",
    responses={
        200: {
            "model": InspectionDetail,
            "description": "A retry: this id was already filed; the record is returned.",
        },
        **error_responses(409),
    },
)
def create_inspection(
    response: Response,
    form: Annotated[InspectionForm, Form(media_type="multipart/form-data")],
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
    principal: Principal = Depends(require_inspector),
    services: Services = Depends(get_services),
) -> InspectionDetail:
    """Scores every photo, reads photo GPS and capture time, stores photos and record.

    Send a client-generated ``id`` (or an ``Idempotency-Key`` header) so that a retry after
    a lost connection returns the record already filed (200) instead of a duplicate.
    """
    filed = service.file_inspection(services, principal, form, idempotency_key)
    if not filed.created:
        response.status_code = 200
    response.headers["Location"] = f"/v1/inspections/{filed.inspection.id}"
    response.headers["ETag"] = f'"{filed.inspection.version}"'
    with services.db.read() as session:
        row = service.get_visible(session, principal, filed.inspection.id)
        return _detail(session, services, principal, row)


@router.get("", response_model=Page[InspectionOut], summary="List inspections")
def list_inspections(
    flt: InspectionFilter = Depends(inspection_filter),
    cursor: str | None = Query(None, description="`next_cursor` of the previous page."),
    limit: int = Query(50, ge=1, le=500),
    session: Session = Depends(read_session),
) -> Page[InspectionOut]:
    """Newest first. Inspectors see their own unit only."""
    rows, next_cursor = service.list_page(session, flt, decode_cursor(cursor), limit)
    return Page[InspectionOut](items=[present.inspection(r) for r in rows], next_cursor=next_cursor)


@router.get("/{inspection_id}", response_model=InspectionDetail, summary="One inspection")
def get_inspection(
    inspection_id: InspectionId,
    response: Response,
    principal: Principal = Depends(require_inspector),
    services: Services = Depends(get_services),
    session: Session = Depends(read_session),
) -> InspectionDetail:
    """With full per-photo scores, the audit trail and open targets nearby."""
    row = service.get_visible(session, principal, inspection_id)
    response.headers["ETag"] = f'"{row.version}"'
    return _detail(session, services, principal, row)


@router.get(
    "/{inspection_id}/photos/{position}",
    response_class=FileResponse,
    summary="Download an original photo",
    responses={200: {"content": {"image/jpeg": {}, "image/png": {}, "image/webp": {}}}},
)
def get_photo(
    inspection_id: InspectionId,
    position: Annotated[int, Path(ge=0, le=99)],
    principal: Principal = Depends(require_inspector),
    services: Services = Depends(get_services),
    session: Session = Depends(read_session),
) -> FileResponse:
    """The bytes exactly as uploaded (evidence): EXIF and all."""
    row = service.get_visible(session, principal, inspection_id)
    photo = next((p for p in row.photos if p.position == position), None)
    if photo is None:
        raise NotFound(f"inspection {inspection_id} has no photo {position}")
    path = services.store.path_for(photo.sha256)
    if not path.is_file():  # pragma: no cover - would mean the store was tampered with
        raise NotFound(f"photo {photo.sha256} is missing from the store")
    return FileResponse(
        path,
        media_type=photo.content_type,
        filename=photo.filename or f"{photo.sha256}",
        content_disposition_type="inline",
        headers={
            "ETag": f'"{photo.sha256}"',
            "Cache-Control": "private, max-age=31536000, immutable",
        },
    )


@router.patch(
    "/{inspection_id}",
    response_model=InspectionDetail,
    summary="Review / eradication",
    responses=error_responses(412),
)
def patch_inspection(
    inspection_id: InspectionId,
    patch: InspectionPatch,
    response: Response,
    if_match: Annotated[str | None, Header(max_length=40)] = None,
    principal: Principal = Depends(require_reviewer),
    services: Services = Depends(get_services),
) -> InspectionDetail:
    """Record a review, an eradication, or a link to a target. Each change is audited.

    Send ``If-Match: "<version>"`` (the ETag) to refuse the change with 412 when someone
    else changed the record since you read it.
    """
    row = service.patch_inspection(services, principal, inspection_id, patch, if_match)
    response.headers["ETag"] = f'"{row.version}"'
    with services.db.read() as session:
        fresh = service.get_visible(session, principal, row.id)
        return _detail(session, services, principal, fresh)
