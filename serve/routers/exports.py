"""Exports: inspections and targets as CSV / GeoJSON / KML; reviewed photos as training data."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Literal

from fastapi import APIRouter, Depends
from fastapi.responses import FileResponse, StreamingResponse
from starlette.background import BackgroundTask

from plantscout.model import exports as encoder

from ..deps import get_services, require_reviewer
from ..keys import Principal
from ..schemas.common import ERROR_RESPONSES
from ..services import exports, manifest
from ..services import targets as target_service
from ..services.filters import InspectionFilter, TargetFilter, inspection_filter, target_filter
from ..state import Services

router = APIRouter(prefix="/v1/exports", tags=["exports"], responses=ERROR_RESPONSES)

Format = Literal["csv", "geojson", "kml"]
_FILE_RESPONSES = {
    200: {
        "content": {
            "text/csv": {},
            "application/geo+json": {},
            "application/vnd.google-earth.kml+xml": {},
        }
    }
}


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def _stream(chunks, fmt: str, stem: str) -> StreamingResponse:
    return StreamingResponse(
        chunks,
        media_type=exports.MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{stem}-{_stamp()}.{fmt}"'},
    )


@router.get(
    "/inspections.{fmt}",
    response_class=StreamingResponse,
    responses=_FILE_RESPONSES,
    summary="Inspections as CSV, GeoJSON or KML",
)
def export_inspections(
    fmt: Format,
    flt: InspectionFilter = Depends(inspection_filter),
    services: Services = Depends(get_services),
) -> StreamingResponse:
    """Same filters as the list; inspectors get their own unit only."""
    batches = exports.started(exports.inspection_batches(services.db.reader, flt))
    return _stream(exports.encode(fmt, batches, exports.INSPECTIONS), fmt, "inspections")


@router.get(
    "/targets.{fmt}",
    response_class=StreamingResponse,
    responses=_FILE_RESPONSES,
    summary="Targets as CSV, GeoJSON or KML",
)
def export_targets(
    fmt: Format,
    flt: TargetFilter = Depends(target_filter),
    services: Services = Depends(get_services),
) -> StreamingResponse:
    """Same filters as the list; inspectors get their unit's targets and unassigned ones."""
    batches = exports.started(
        exports.target_batches(services.db.reader, flt, target_service.linked_counts)
    )
    return _stream(exports.encode(fmt, batches, exports.TARGETS), fmt, "targets")


@router.get(
    "/training.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}}},
    summary="Reviewed photos as a labelled dataset manifest",
)
def export_training_manifest(
    flt: InspectionFilter = Depends(inspection_filter),
    _reviewer: Principal = Depends(require_reviewer),
    services: Services = Depends(get_services),
) -> StreamingResponse:
    """The manifest only; paths point into the zip export's ``images/`` folder."""
    records = exports.started(
        manifest.rows(services.db.reader, flt, services.settings.training_licence)
    )
    return _stream(encoder.chunks(manifest.write_csv(records)), "csv", "training")


@router.get(
    "/training.zip",
    response_class=FileResponse,
    responses={200: {"content": {"application/zip": {}}}},
    summary="Reviewed photos + manifest, ready for `plantscout datasets build`",
)
def export_training_zip(
    flt: InspectionFilter = Depends(inspection_filter),
    _reviewer: Principal = Depends(require_reviewer),
    services: Services = Depends(get_services),
) -> FileResponse:
    records = manifest.rows(services.db.reader, flt, services.settings.training_licence)
    path = manifest.write_zip(records, services.store)
    return FileResponse(
        path,
        media_type="application/zip",
        filename=f"training-{_stamp()}.zip",
        background=BackgroundTask(os.unlink, path),
    )
