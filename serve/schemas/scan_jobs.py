"""Scan-job shapes: the upload forms of ``/v1/scan-jobs`` and the job as the API shows it."""

from __future__ import annotations

from typing import Any

from fastapi import UploadFile
from pydantic import BaseModel, Field

from .common import Strict


class FramesForm(Strict):
    """Multipart form of ``POST /v1/scan-jobs/{id}/frames``."""

    frames: list[UploadFile] = Field(min_length=1, description="Drone frames (JPEG, PNG, GeoTIFF).")


class ScanJobForm(FramesForm):
    """Multipart form of ``POST /v1/scan-jobs``: frames and how to cut them into tiles."""

    hold: bool = Field(False, description="Keep the job open for more frames.")
    gsd_cm: float | None = Field(None, gt=0, le=1000, description="Force the frames' cm/px.")
    model_gsd_cm: float | None = Field(
        None, gt=0, le=1000, description="cm/px the model expects (default: its card)."
    )
    tile_px: int | None = Field(None, ge=32, le=8192, description="Tile side when GSD is unknown.")
    overlap: float = Field(0.25, ge=0, le=0.8, description="Fraction by which tiles overlap.")
    height_m: float | None = Field(None, gt=0, le=10_000)
    ground_elevation_m: float | None = Field(None, ge=-1000, le=10_000)
    sensor_width_mm: float | None = Field(None, gt=0, le=1000)
    focal_length_mm: float | None = Field(None, gt=0, le=10_000)
    assume_nadir: bool = True
    include_thermal: bool = False


class JobLinks(BaseModel):
    self: str
    outputs: dict[str, str] = Field(description="Output name → URL (once the job is done).")
    overlays: str


class ScanJob(BaseModel):
    """A scan job: progress while it runs, the flight summary when done."""

    id: str
    state: str = Field(description="open, queued, running, done, failed or cancelled")
    created_at: str
    started_at: str | None
    finished_at: str | None
    frames_total: int
    frames_done: int
    frames_resumed: int = Field(description="Frames a restarted server did not scan again.")
    frames_per_second: float | None
    eta_s: float | None
    options: dict[str, Any] = Field(description="The scan options (ScanOptions).")
    owner: dict[str, Any] = Field(description="unit and key name of who submitted it")
    summary: dict[str, Any] | None = Field(description="summary.json once the job is done.")
    error: str | None
    links: JobLinks


class ScanJobList(BaseModel):
    items: list[ScanJob]


class Overlay(BaseModel):
    name: str
    url: str


class OverlayList(BaseModel):
    items: list[Overlay]
