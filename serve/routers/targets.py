"""Survey targets: import (admin), list and read with suggested links."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Query, UploadFile
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..deps import get_services, read_session, require_admin, require_inspector
from ..errors import PayloadTooLarge, Unprocessable
from ..keys import Principal
from ..models import Inspection, Target
from ..schemas.common import ERROR_RESPONSES, Page
from ..schemas.targets import ImportResult, SuggestedInspection, TargetDetail, TargetImportForm
from ..schemas.targets import Target as TargetOut
from ..services import present
from ..services import targets as service
from ..services.filters import decode_cursor, encode_cursor, parse_bbox
from ..state import Services
from ..vocab import Role, TargetStatus

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
    status: list[TargetStatus] = Query(default=[]),
    unit: list[str] = Query(default=[]),
    issuer: str | None = Query(None, max_length=100),
    bbox: str | None = Query(None, description="min_lon,min_lat,max_lon,max_lat"),
    cursor: str | None = Query(None),
    limit: int = Query(100, ge=1, le=1000),
    principal: Principal = Depends(require_inspector),
    session: Session = Depends(read_session),
) -> Page[TargetOut]:
    """Oldest first. Inspectors see their unit's targets and unassigned ones."""
    query = target_query(principal, status, unit, issuer, bbox)
    after = decode_cursor(cursor)
    if after is not None:
        query = query.where(Target.seq > after)
    rows = list(session.scalars(query.order_by(Target.seq).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    counts = service.linked_counts(session, [r.id for r in rows])
    return Page[TargetOut](
        items=[present.target(r, counts.get(r.id, 0)) for r in rows],
        next_cursor=encode_cursor(rows[-1].seq) if more and rows else None,
    )


def target_query(
    principal: Principal,
    status: list[TargetStatus],
    unit: list[str],
    issuer: str | None,
    bbox: str | None,
):
    query = select(Target)
    if not principal.role.allows(Role.REVIEWER):
        query = query.where((Target.unit == principal.unit) | Target.unit.is_(None))
    if status:
        query = query.where(Target.status.in_([s.value for s in status]))
    if unit:
        query = query.where(Target.unit.in_(unit))
    if issuer:
        query = query.where(Target.issuer == issuer)
    box = parse_bbox(bbox)
    if box is not None:
        min_lon, min_lat, max_lon, max_lat = box
        if min_lon > max_lon:
            raise Unprocessable("target bbox filters cannot cross the antimeridian")
        query = query.where(
            Target.max_lat >= min_lat,
            Target.min_lat <= max_lat,
            Target.max_lon >= min_lon,
            Target.min_lon <= max_lon,
        )
    return query


@router.get("/{target_id}", response_model=TargetDetail, summary="One target")
def get_target(
    target_id: Annotated[str, Path(max_length=36)],
    principal: Principal = Depends(require_inspector),
    services: Services = Depends(get_services),
    session: Session = Depends(read_session),
) -> TargetDetail:
    """With its linked inspections and unlinked ones nearby (suggested links)."""
    row = service.get_visible(session, principal, target_id)
    linked_query = select(Inspection.id).where(Inspection.target_id == row.id)
    if not principal.role.allows(Role.REVIEWER):
        linked_query = linked_query.where(Inspection.unit == principal.unit)
    linked = list(session.scalars(linked_query.order_by(Inspection.seq)))
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
