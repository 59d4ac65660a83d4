"""Batch drone scans: ``/v1/scan-jobs`` — submit frames, poll progress, fetch the outputs.

The job logic (queue, resumable scanning, outputs) is ``plantscout.drone.jobs``; this
router only wires HTTP to it. A flight can be larger than one request may be, so a job can
be opened with ``hold=true``, filled with ``POST …/frames`` and started with ``POST …/start``.
Outputs are the same files ``plantscout scan`` writes: detections CSV / GeoJSON / KML, a
summary, and an overlay PNG per frame.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, UploadFile
from fastapi.responses import FileResponse

from plantscout.drone.jobs import OUTPUTS, JobNotFound, JobStateError, JobStatus, ScanJobs
from plantscout.drone.scan import ScanOptions

from ..deps import get_services, require_inspector
from ..errors import Conflict, NotFound, PayloadTooLarge, Unprocessable
from ..keys import Principal
from ..schemas.common import ERROR_RESPONSES, error_responses
from ..schemas.scan_jobs import (
    FramesForm,
    Overlay,
    OverlayList,
    ScanJob,
    ScanJobForm,
    ScanJobList,
)
from ..services import scan_jobs as service
from ..state import Services

router = APIRouter(
    prefix="/v1/scan-jobs",
    tags=["scan-jobs"],
    responses={**ERROR_RESPONSES, **error_responses(503)},  # 503: no model loaded
)

JobId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")]
MEDIA = {
    "detections.csv": "text/csv",
    "detections.geojson": "application/geo+json",
    "detections.kml": "application/vnd.google-earth.kml+xml",
    "summary.json": "application/json",
    "summary.txt": "text/plain; charset=utf-8",
}


def scan_jobs(services: Services = Depends(get_services)) -> ScanJobs:
    """The app's job queue (:class:`plantscout.serve.runtime.Runtime` owns it); 503 without a
    model, as before: its jobs score with the model being served when each starts."""
    services.require_scoring()
    return services.runtime.scan_jobs


def _visible(jobs: ScanJobs, job_id: str, principal: Principal) -> JobStatus:
    try:
        status = jobs.status(job_id)
    except JobNotFound:
        raise NotFound(f"scan job {job_id} not found") from None
    if not principal.can_see_unit(status.owner.get("unit")):
        raise NotFound(f"scan job {job_id} not found")
    return status


def _files(frames: list[UploadFile]) -> list[tuple[str, Any]]:
    return [(f.filename or f"frame{i}.jpg", f.file) for i, f in enumerate(frames)]


@router.post(
    "", status_code=202, response_model=ScanJob, summary="Start a batch scan of drone frames"
)
def submit(
    form: Annotated[ScanJobForm, Form(media_type="multipart/form-data")],
    principal: Principal = Depends(require_inspector),
    services: Services = Depends(get_services),
    jobs: ScanJobs = Depends(scan_jobs),
) -> ScanJob:
    """Stores the frames and queues the scan (202). Poll ``GET /v1/scan-jobs/{id}``.
    Settings that would cut a frame into too many tiles are refused (422)."""
    options = service.scan_options(form)
    check = service.frame_check(services.settings, services.require_scoring().scorer.card, options)
    try:
        status = jobs.submit(
            _files(form.frames),
            options,
            owner={"unit": principal.unit, "key": principal.name},
            max_bytes_per_file=services.settings.max_photo_bytes,
            hold=form.hold,
            check=check,
        )
    except JobStateError as exc:
        raise Unprocessable(str(exc)) from exc
    except ValueError as exc:
        raise PayloadTooLarge(str(exc)) from exc
    return service.job_view(status)


@router.post(
    "/{job_id}/frames",
    response_model=ScanJob,
    summary="Add frames to an open (held) job",
    responses=error_responses(409),
)
def add_frames(
    job_id: JobId,
    form: Annotated[FramesForm, Form(media_type="multipart/form-data")],
    principal: Principal = Depends(require_inspector),
    services: Services = Depends(get_services),
    jobs: ScanJobs = Depends(scan_jobs),
) -> ScanJob:
    status = _visible(jobs, job_id, principal)
    check = service.frame_check(
        services.settings, services.require_scoring().scorer.card, ScanOptions(**status.options)
    )
    try:
        status = jobs.add_frames(
            job_id,
            _files(form.frames),
            max_bytes_per_file=services.settings.max_photo_bytes,
            check=check,
        )
    except JobStateError as exc:
        raise Conflict(str(exc)) from exc
    except ValueError as exc:
        raise PayloadTooLarge(str(exc)) from exc
    return service.job_view(status)


@router.post("/{job_id}/start", status_code=202, response_model=ScanJob, summary="Start a held job")
def start(
    job_id: JobId,
    principal: Principal = Depends(require_inspector),
    jobs: ScanJobs = Depends(scan_jobs),
) -> ScanJob:
    _visible(jobs, job_id, principal)
    try:
        return service.job_view(jobs.start_job(job_id))
    except JobStateError as exc:
        raise Unprocessable(str(exc)) from exc


@router.get("", response_model=ScanJobList, summary="Scan jobs (own unit; reviewers see all)")
def list_jobs(
    principal: Principal = Depends(require_inspector),
    jobs: ScanJobs = Depends(scan_jobs),
) -> ScanJobList:
    visible = [s for s in jobs.list() if principal.can_see_unit(s.owner.get("unit"))]
    return ScanJobList(items=[service.job_view(s) for s in visible])


@router.get("/{job_id}", response_model=ScanJob, summary="Progress and summary of a scan job")
def get_job(
    job_id: JobId,
    principal: Principal = Depends(require_inspector),
    jobs: ScanJobs = Depends(scan_jobs),
) -> ScanJob:
    return service.job_view(_visible(jobs, job_id, principal))


@router.delete(
    "/{job_id}",
    response_model=ScanJob,
    summary="Cancel a scan job (frames already scanned are kept)",
)
def cancel(
    job_id: JobId,
    principal: Principal = Depends(require_inspector),
    jobs: ScanJobs = Depends(scan_jobs),
) -> ScanJob:
    _visible(jobs, job_id, principal)
    return service.job_view(jobs.cancel(job_id))


@router.get(
    "/{job_id}/outputs/{name}",
    response_class=FileResponse,
    responses={200: {"content": {media.split(";")[0]: {} for media in MEDIA.values()}}},
    summary="An output file of a finished job",
)
def output(
    job_id: JobId,
    name: str,
    principal: Principal = Depends(require_inspector),
    jobs: ScanJobs = Depends(scan_jobs),
) -> FileResponse:
    _visible(jobs, job_id, principal)
    if name not in MEDIA:
        raise NotFound(f"no output {name!r}; outputs: {', '.join(OUTPUTS)}")
    try:
        path = jobs.output(job_id, name)
    except JobNotFound:
        raise NotFound(f"{name} is not written yet: the job is not finished") from None
    return FileResponse(path, media_type=MEDIA[name], filename=name)


@router.get("/{job_id}/overlays", response_model=OverlayList, summary="Overlay PNGs written so far")
def overlays(
    job_id: JobId,
    principal: Principal = Depends(require_inspector),
    jobs: ScanJobs = Depends(scan_jobs),
) -> OverlayList:
    _visible(jobs, job_id, principal)
    names = jobs.overlays(job_id)
    return OverlayList(
        items=[Overlay(name=n, url=f"/v1/scan-jobs/{job_id}/overlays/{n}") for n in names]
    )


@router.get(
    "/{job_id}/overlays/{name}",
    response_class=FileResponse,
    responses={200: {"content": {"image/png": {}}}},
    summary="One overlay PNG",
)
def overlay(
    job_id: JobId,
    name: str,
    principal: Principal = Depends(require_inspector),
    jobs: ScanJobs = Depends(scan_jobs),
) -> FileResponse:
    _visible(jobs, job_id, principal)
    try:
        path = jobs.output(job_id, f"overlays/{name}")
    except JobNotFound:
        raise NotFound(f"no overlay {name!r}") from None
    return FileResponse(path, media_type="image/png")
