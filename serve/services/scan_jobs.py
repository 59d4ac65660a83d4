"""Scan jobs for the service: the form turned into scan options, the cost check on frames,
and the job as the API shows it. The queue itself is ``plantscout.drone.jobs``.

The cost of a scan is its tile count: every tile is one model input (≈ 5 ms of CPU with the
released bundle, plus cutting and resizing). Tiny tiles at 0.8 overlap asked for hundreds of
thousands per frame (the scanner then enlarged them to 2 500: ≈ 30 CPU-s per frame on the one
worker). A frame whose settings ask for more than ``scan_max_tiles_per_frame`` tiles is
refused with a 422 before the job is queued, naming the frame and the count.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from plantscout.drone.jobs import OUTPUTS, JobStatus
from plantscout.drone.scan import ScanOptions, requested_tiles
from plantscout.model import Card, IntakeLimits
from plantscout.model.errors import ImageError

from ..errors import Unprocessable
from ..schemas.scan_jobs import JobLinks, ScanJob, ScanJobForm
from ..settings import Settings


def frame_check(settings: Settings, card: Card, options: ScanOptions):
    """The service's check for frames of a job with ``options``, under the current model."""
    limits = IntakeLimits(max_bytes=settings.max_photo_bytes, max_pixels=settings.max_photo_pixels)
    return tile_check(card, limits, options, settings.scan_max_tiles_per_frame)


def scan_options(form: ScanJobForm) -> ScanOptions:
    return ScanOptions(
        model_gsd_m=form.model_gsd_cm / 100 if form.model_gsd_cm else None,
        gsd_m=form.gsd_cm / 100 if form.gsd_cm else None,
        tile_px=form.tile_px,
        overlap=form.overlap,
        height_m=form.height_m,
        ground_elevation_m=form.ground_elevation_m,
        sensor_width_mm=form.sensor_width_mm,
        focal_length_mm=form.focal_length_mm,
        assume_nadir=form.assume_nadir,
        skip_thermal=not form.include_thermal,
    )


def tile_check(card: Card, limits: IntakeLimits, options: ScanOptions, limit: int):
    """A check for ``ScanJobs.add_frames``: refuse frames these options would cut into more
    than ``limit`` tiles. Frames whose header cannot be read pass: the scan reports them."""

    def check(staged: list[tuple[Path, str]]) -> None:
        for path, name in staged:
            try:
                count = requested_tiles(path, options, card=card, limits=limits)
            except (ImageError, OSError, ValueError):
                continue
            if count is not None and count > limit:
                raise Unprocessable(
                    f"frame {name}: these settings cut it into {count:,} tiles; a scan job "
                    f"allows at most {limit:,} per frame. Use larger tiles (tile_px, or a "
                    "coarser model_gsd_cm) or less overlap.",
                    details=[{"field": "frames", "frame": name, "tiles": count, "limit": limit}],
                )

    return check


def job_view(status: JobStatus) -> ScanJob:
    base = f"/v1/scan-jobs/{status.id}"
    data: dict[str, Any] = status.as_dict()
    return ScanJob(
        **data,
        links=JobLinks(
            self=base,
            outputs={name: f"{base}/outputs/{name}" for name in OUTPUTS},
            overlays=f"{base}/overlays",
        ),
    )
