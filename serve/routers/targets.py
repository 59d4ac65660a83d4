"""Survey targets: import (admin), list and read with suggested links."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Query, UploadFile
from sqlalchemy.orm import Session

from ..deps import get_services, read_session, require_admin, require_inspector
from ..errors import PayloadTooLarge
from ..keys import Principal
from ..schemas.common import ERROR_RESPONSES, Page
from ..schemas.targets import ImportResult, SuggestedInspection, TargetDetail, TargetImportForm
from ..schemas.targets import Target as TargetOut
from ..services import present
from ..services import targets as service
from ..services.filters import TargetFilter, decode_cursor, target_filter
from ..state import Services

router = APIRouter(prefix="/v1/targets", tags=["targets"], responses=ERROR_RESPONSES)


def read_limited(file: UploadFile, limit: int) -> bytes:
    data = file.file.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLarge(f"the file is larger than {limit:,} bytes")
    return data


@router.post("/import", response_model=ImportResult, summary="Import targets (GeoJSON / CSV)")
def import_targets(
    form: Annotated[TargetImportForm, Form(media_type="multipart/form-data")],
    principal: Principal = Depends(require_admin),
    services: Services = Depends(get_services),
) -> ImportResult:
    """Targets are matched by (issuer, the issuer's id): re-importing a file changes nothing,
    a corrected file updates the targets it changes. A bad row rejects the whole file."""
    data = read_limited(form.file, services.settings.max_import_bytes)
    return service.import_file(
        services.db, principal, form.issuer.strip(), data, form.file.filename, form.format
    )


@router.get("", response_model=Page[TargetOut], summary="List targets")
def list_targets(
    flt: TargetFilter = Depends(target_filter),
    cursor: str | None = Query(None),
    limit: int = Query(100, ge=1, le=1000),
    session: Session = Depends(read_session),
) -> Page[TargetOut]:
    """Oldest first. Inspectors see their unit's targets and unassigned ones."""
    rows, counts, next_cursor = service.list_page(session, flt, decode_cursor(cursor), limit)
    return Page[TargetOut](
        items=[present.target(r, counts.get(r.id, 0)) for r in rows], next_cursor=next_cursor
    )


@router.get("/{target_id}", response_model=TargetDetail, summary="One target")
def get_target(
    target_id: Annotated[str, Path(max_length=36)],
    principal: Principal = Depends(require_inspector),
    services: Services = Depends(get_services),
    session: Session = Depends(read_session),
) -> TargetDetail:
    """With its linked inspections and unlinked ones nearby (suggested links)."""
    row = service.get_visible(session, principal, target_id)
    linked = service.linked_inspection_ids(session, principal, row)
    near = service.inspections_near(session, row, services.settings.suggest_radius_m, principal)
    base = present.target(row, len(linked))
    return TargetDetail(
        **base.model_dump(),
        inspection_ids=linked,
        suggested_inspections=[
            SuggestedInspection(
                id=i.id,
                unit=i.unit,
                verdict=i.verdict,
                review_state=i.review_state,
                observed_at=i.observed_at,
                distance_m=round(d, 1),
            )
            for i, d in near
        ],
    )
