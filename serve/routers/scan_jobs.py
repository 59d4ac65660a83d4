"""Batch drone scans: ``/v1/scan-jobs`` — submit frames, poll progress, fetch the outputs.

The job logic (queue, resumable scanning, outputs) is ``plantscout.drone.jobs``; this
router only wires HTTP to it. A flight can be larger than one request may be, so a job can
be opened with ``hold=true``, filled with ``POST …/frames`` and started with ``POST …/start``.
Outputs are the same files ``plantscout scan`` writes: detections CSV / GeoJSON / KML, a
summary, and an overlay PNG per frame.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Path, UploadFile
from fastapi.responses import FileResponse

from plantscout.drone.jobs import OUTPUTS, JobNotFound, JobStateError, ScanJobs
from plantscout.drone.scan import ScanOptions

from ..deps import get_services, require_inspector
from ..errors import Conflict, NotFound, PayloadTooLarge, Unprocessable
from ..keys import Principal
from ..schemas.common import ERROR_RESPONSES
from ..state import Services

router = APIRouter(prefix="/v1/scan-jobs", tags=["scan-jobs"], responses=ERROR_RESPONSES)

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


def _view(status: Any) -> dict[str, Any]:
    data = status.as_dict()
    base = f"/v1/scan-jobs/{status.id}"
    data["links"] = {
        "self": base,
        "outputs": {name: f"{base}/outputs/{name}" for name in OUTPUTS},
        "overlays": f"{base}/overlays",
    }
    return data


def _visible(jobs: ScanJobs, job_id: str, principal: Principal) -> Any:
    try:
        status = jobs.status(job_id)
    except JobNotFound:
        raise NotFound(f"scan job {job_id} not found") from None
    if not principal.can_see_unit(status.owner.get("unit")):
        raise NotFound(f"scan job {job_id} not found")
    return status


def _files(frames: list[UploadFile]) -> list[tuple[str, Any]]:
    return [(f.filename or f"frame{i}.jpg", f.file) for i, f in enumerate(frames)]


@router.post("", status_code=202, summary="Start a batch scan of drone frames")
def submit(
    frames: Annotated[list[UploadFile], File(description="Drone frames (JPEG, PNG, GeoTIFF).")],
    hold: Annotated[bool, Form(description="Keep the job open for more frames.")] = False,
    gsd_cm: Annotated[float | None, Form(gt=0)] = None,
    model_gsd_cm: Annotated[float | None, Form(gt=0)] = None,
    tile_px: Annotated[int | None, Form(ge=32, le=8192)] = None,
    overlap: Annotated[float, Form(ge=0, le=0.8)] = 0.25,
    height_m: Annotated[float | None, Form(gt=0)] = None,
    ground_elevation_m: Annotated[float | None, Form()] = None,
    sensor_width_mm: Annotated[float | None, Form(gt=0)] = None,
    focal_length_mm: Annotated[float | None, Form(gt=0)] = None,
    assume_nadir: Annotated[bool, Form()] = True,
    include_thermal: Annotated[bool, Form()] = False,
    principal: Principal = Depends(require_inspector),
    services: Services = Depends(get_services),
    jobs: ScanJobs = Depends(scan_jobs),
) -> dict[str, Any]:
    """Stores the frames and queues the scan (202). Poll ``GET /v1/scan-jobs/{id}``."""
    options = ScanOptions(
        model_gsd_m=model_gsd_cm / 100 if model_gsd_cm else None,
        gsd_m=gsd_cm / 100 if gsd_cm else None,
        tile_px=tile_px,
        overlap=overlap,
        height_m=height_m,
        ground_elevation_m=ground_elevation_m,
        sensor_width_mm=sensor_width_mm,
        focal_length_mm=focal_length_mm,
        assume_nadir=assume_nadir,
        skip_thermal=not include_thermal,
    )
    try:
        status = jobs.submit(
            _files(frames),
            options,
            owner={"unit": principal.unit, "key": principal.name},
            max_bytes_per_file=services.settings.max_photo_bytes,
            hold=hold,
        )
    except JobStateError as exc:
        raise Unprocessable(str(exc)) from exc
    except ValueError as exc:
        raise PayloadTooLarge(str(exc)) from exc
    return _view(status)


@router.post("/{job_id}/frames", summary="Add frames to an open (held) job")
def add_frames(
    job_id: JobId,
    frames: Annotated[list[UploadFile], File()],
    principal: Principal = Depends(require_inspector),
    services: Services = Depends(get_services),
    jobs: ScanJobs = Depends(scan_jobs),
) -> dict[str, Any]:
    _visible(jobs, job_id, principal)
    try:
        status = jobs.add_frames(
            job_id, _files(frames), max_bytes_per_file=services.settings.max_photo_bytes
        )
    except JobStateError as exc:
        raise Conflict(str(exc)) from exc
    except ValueError as exc:
        raise PayloadTooLarge(str(exc)) from exc
    return _view(status)


@router.post("/{job_id}/start", status_code=202, summary="Start a held job")
def start(
    job_id: JobId,
    principal: Principal = Depends(require_inspector),
    jobs: ScanJobs = Depends(scan_jobs),
) -> dict[str, Any]:
    _visible(jobs, job_id, principal)
    try:
        return _view(jobs.start_job(job_id))
    except JobStateError as exc:
        raise Unprocessable(str(exc)) from exc


@router.get("", summary="Scan jobs (own unit; reviewers see all)")
def list_jobs(
    principal: Principal = Depends(require_inspector),
    jobs: ScanJobs = Depends(scan_jobs),
) -> dict[str, Any]:
    visible = [s for s in jobs.list() if principal.can_see_unit(s.owner.get("unit"))]
    return {"items": [_view(s) for s in visible]}


@router.get("/{job_id}", summary="Progress and summary of a scan job")
def get_job(
    job_id: JobId,
    principal: Principal = Depends(require_inspector),
    jobs: ScanJobs = Depends(scan_jobs),
) -> dict[str, Any]:
    return _view(_visible(jobs, job_id, principal))


@router.delete("/{job_id}", summary="Cancel a scan job (frames already scanned are kept)")
def cancel(
    job_id: JobId,
    principal: Principal = Depends(require_inspector),
    jobs: ScanJobs = Depends(scan_jobs),
) -> dict[str, Any]:
    _visible(jobs, job_id, principal)
    return _view(jobs.cancel(job_id))


@router.get("/{job_id}/outputs/{name}", summary="An output file of a finished job")
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


@router.get("/{job_id}/overlays", summary="Overlay PNGs written so far")
def overlays(
    job_id: JobId,
    principal: Principal = Depends(require_inspector),
    jobs: ScanJobs = Depends(scan_jobs),
) -> dict[str, Any]:
    _visible(jobs, job_id, principal)
    names = jobs.overlays(job_id)
    return {"items": [{"name": n, "url": f"/v1/scan-jobs/{job_id}/overlays/{n}"} for n in names]}


@router.get("/{job_id}/overlays/{name}", summary="One overlay PNG")
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
