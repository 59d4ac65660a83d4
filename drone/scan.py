"""Scan one drone frame: geotags -> tile plan -> streamed tiles -> scores -> regions -> ground.

The result (:class:`FrameResult`) is plain data that round-trips through JSON, so a flight
scan can stop and resume, workers can hand results back, and exports are built from the
stored results alone.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from plantscout.drone.camera import intrinsics_for
from plantscout.drone.frames import FrameReader
from plantscout.drone.geometry import FrameGeometry, Quality, frame_geometry
from plantscout.drone.geotags import Geotags, read_geotags
from plantscout.drone.regions import (
    LEVEL_ALERT,
    LEVEL_REVIEW,
    Heatmap,
    Region,
    find_regions,
)
from plantscout.drone.tiling import TileBox, TilePlan, plan_tiles
from plantscout.model.bundle import Card
from plantscout.model.errors import ImageError
from plantscout.model.intake import IntakeLimits
from plantscout.model.preprocess import Preprocessing, resize_and_crop
from plantscout.model.score import Level, Score
from plantscout.model.scorer import Scorer
from plantscout.model.taxonomy import TAXONOMY, Role

RESULT_SCHEMA = "plantscout.drone-frame/1"
HEAD_BYTES = 1 << 20  # metadata (EXIF, XMP) sits in the first few hundred KB of a frame


@dataclass(frozen=True)
class ScanOptions:
    """How to cut and place tiles. ``None`` means "from the file / the bundle card"."""

    model_gsd_m: float | None = None  # ground size of one model-input pixel
    gsd_m: float | None = None  # force the frames' ground resolution (m/px)
    tile_px: int | None = None  # fallback tile side in frame pixels (default 2 × input)
    overlap: float = 0.25
    sensor_width_mm: float | None = None
    focal_length_mm: float | None = None
    height_m: float | None = None  # camera height above ground, overriding the metadata
    ground_elevation_m: float | None = None
    assume_nadir: bool = True  # when the gimbal is missing or known-bad (DJI Mini 3)
    max_tiles: int = 2500
    max_upsample: float = 2.0  # frames coarser than model GSD × this are not scanned
    skip_thermal: bool = True
    batch_size: int = 16

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def fingerprint(self) -> str:
        """What changes results: resuming reuses a stored frame only if this matches."""
        data = {k: v for k, v in self.as_dict().items() if k != "batch_size"}
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


@dataclass
class FrameResult:
    file: str
    sha256: str
    width: int = 0
    height: int = 0
    verdict: str = "clear"  # suspected | review | clear | unusable | error
    tiles_scored: int = 0
    regions: list[Region] = field(default_factory=list)
    heatmaps: list[Heatmap] = field(default_factory=list)
    geotags: dict[str, Any] = field(default_factory=dict)
    geometry: dict[str, Any] = field(default_factory=dict)
    plan: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    model: dict[str, str] = field(default_factory=dict)
    options: str = ""
    seconds: float = 0.0
    error: dict[str, str] | None = None
    preview: np.ndarray | None = field(default=None, repr=False, compare=False)
    geo: FrameGeometry | None = field(default=None, repr=False, compare=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "schema": RESULT_SCHEMA,
            "file": self.file,
            "sha256": self.sha256,
            "width": self.width,
            "height": self.height,
            "verdict": self.verdict,
            "tiles_scored": self.tiles_scored,
            "regions": [r.as_dict() for r in self.regions],
            "heatmaps": [h.as_dict() for h in self.heatmaps],
            "geotags": self.geotags,
            "geometry": self.geometry,
            "plan": self.plan,
            "notes": list(self.notes),
            "model": dict(self.model),
            "options": self.options,
            "seconds": round(self.seconds, 3),
            "error": self.error,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FrameResult:
        if data.get("schema") != RESULT_SCHEMA:
            raise ValueError(f"not a drone frame result: schema {data.get('schema')!r}")
        return cls(
            file=data["file"],
            sha256=data["sha256"],
            width=data.get("width", 0),
            height=data.get("height", 0),
            verdict=data.get("verdict", "clear"),
            tiles_scored=data.get("tiles_scored", 0),
            regions=[Region.from_dict(r) for r in data.get("regions", [])],
            heatmaps=[Heatmap.from_dict(h) for h in data.get("heatmaps", [])],
            geotags=data.get("geotags", {}),
            geometry=data.get("geometry", {}),
            plan=data.get("plan", {}),
            notes=list(data.get("notes", [])),
            model=data.get("model", {}),
            options=data.get("options", ""),
            seconds=data.get("seconds", 0.0),
            error=data.get("error"),
        )

    @property
    def suspected(self) -> list[Region]:
        return [r for r in self.regions if r.level == "alert"]


def file_sha256(source: str | os.PathLike[str] | bytes) -> str:
    if isinstance(source, bytes | bytearray | memoryview):
        return hashlib.sha256(source).hexdigest()
    digest = hashlib.sha256()
    with open(source, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def model_gsd(scorer: Scorer, options: ScanOptions) -> float | None:
    """The ground size of one model-input pixel: the user's, else the bundle card's.

    Training writes ``tiles.gsd_m`` (the resolution drone tiles were cut at); ``drone.gsd_m``
    is accepted too. A card listing several tile resolutions gives the finest.
    """
    return _card_gsd(scorer.card, options)


def _card_gsd(card: Card, options: ScanOptions) -> float | None:
    if options.model_gsd_m:
        return options.model_gsd_m
    for key in ("tiles", "drone"):
        section = card.extra.get(key)
        value = section.get("gsd_m") if isinstance(section, dict) else None
        if isinstance(value, list):
            value = min((v for v in value if isinstance(v, int | float) and v > 0), default=None)
        if isinstance(value, int | float) and value > 0:
            return float(value)
    return None


def scan_frame(
    source: str | os.PathLike[str] | bytes,
    scorer: Scorer,
    options: ScanOptions = ScanOptions(),
    *,
    name: str | None = None,
    sha256: str | None = None,
) -> FrameResult:
    """Scan one frame. Image errors become a result with ``verdict="error"``, not a raise."""
    started = time.perf_counter()
    label = name or (os.fspath(source) if not isinstance(source, bytes) else "frame")
    result = FrameResult(
        file=label,
        sha256=sha256 or file_sha256(source),
        model=scorer.identity,
        options=options.fingerprint(),
    )
    try:
        _scan_into(result, source, scorer, options)
    except ImageError as exc:
        result.verdict = "error"
        result.error = exc.as_dict()
    except OSError as exc:
        result.verdict = "error"
        result.error = {"code": "unreadable", "message": str(exc)}
    result.seconds = time.perf_counter() - started
    return result


def _read_head(source: str | os.PathLike[str] | bytes) -> tuple[bytes, bool]:
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source), True
    with open(source, "rb") as handle:
        head = handle.read(HEAD_BYTES)
        whole = len(head) < HEAD_BYTES or not handle.read(1)
    return head, whole


def _scan_into(
    result: FrameResult,
    source: str | os.PathLike[str] | bytes,
    scorer: Scorer,
    options: ScanOptions,
) -> None:
    head, whole = _read_head(source)
    tags = read_geotags(head, whole_file=whole)
    result.geotags = tags.as_dict()
    reader = FrameReader(source, limits=scorer.limits)
    result.width, result.height = reader.width, reader.height
    if options.skip_thermal and tags.is_thermal:
        result.verdict = "unusable"
        result.notes.append("thermal frame: the colour model cannot score it; skipped")
        return
    geo = _geometry(tags, reader, options)
    result.geo = geo
    result.geometry = geo.as_dict()
    plan = _plan(reader, geo, scorer.card, options, options.max_tiles)
    result.plan = plan.as_dict()
    result.notes.extend(plan.notes)
    if too_coarse(plan, options, result):
        return
    heatmaps = empty_heatmaps(scorer, plan)
    info = reader.start(plan)
    scored = score_tiles_into(reader.tiles(plan, info), scorer, heatmaps, options.batch_size)
    result.notes.extend(info.notes)
    result.preview = info.preview
    finalize(result, heatmaps, plan, scored, lambda region: place_region(region, geo))


def _plan(
    reader: FrameReader, geo: FrameGeometry, card: Card, options: ScanOptions, max_tiles: int
) -> TilePlan:
    return plan_tiles(
        reader.width,
        reader.height,
        card.preprocessing.input_size,
        frame_gsd_m=options.gsd_m or geo.gsd_m,
        model_gsd_m=_card_gsd(card, options),
        fallback_tile_px=options.tile_px,
        overlap=options.overlap,
        max_tiles=max_tiles,
    )


def requested_tiles(
    source: str | os.PathLike[str] | bytes,
    options: ScanOptions,
    *,
    card: Card,
    limits: IntakeLimits,
) -> int | None:
    """How many tiles ``options`` ask for on this frame, before the scanner would enlarge
    them to stay within ``max_tiles`` — the work a caller is asking for, so a service can
    refuse settings that cost too much (tiny tiles at 0.8 overlap: ≈ 30 CPU-s per frame)
    before queueing them. Reads the header and metadata only. None: the frame would not be
    tiled at all (thermal, or far coarser than the model's resolution)."""
    head, whole = _read_head(source)
    tags = read_geotags(head, whole_file=whole)
    if options.skip_thermal and tags.is_thermal:
        return None
    reader = FrameReader(source, limits=limits)
    plan = _plan(reader, _geometry(tags, reader, options), card, options, max_tiles=2**62)
    if _coarseness(plan, options) is not None:
        return None
    return plan.count


def _coarseness(plan: TilePlan, options: ScanOptions) -> float | None:
    """How many times coarser than the model's resolution, when past the limit; else None."""
    if plan.basis != "gsd" or plan.frame_gsd_m is None or plan.model_gsd_m is None:
        return None
    factor = plan.frame_gsd_m / plan.model_gsd_m
    return factor if factor > options.max_upsample else None


def too_coarse(plan: TilePlan, options: ScanOptions, result: FrameResult) -> bool:
    """A frame far coarser than the model's resolution is refused, not guessed at.

    At 13 cm/px a cannabis plant is a handful of pixels; a model trained at 1 cm/px has never
    seen that and its answer would mean nothing. The frame becomes ``unusable`` and the note
    says how low to fly (or pass ``--tile-px`` without a GSD to force a scan).
    """
    factor = _coarseness(plan, options)
    if factor is None:
        return False
    assert plan.frame_gsd_m is not None and plan.model_gsd_m is not None
    result.verdict = "unusable"
    result.notes.append(
        f"frame resolution {plan.frame_gsd_m * 100:.1f} cm/px is {factor:.1f}× coarser than the "
        f"model's {plan.model_gsd_m * 100:.1f} cm/px (limit ×{options.max_upsample:g}): not "
        "scanned; fly lower or use a model trained at this resolution"
    )
    return True


def finalize(
    result: FrameResult,
    heatmaps: dict[str, Heatmap],
    plan: TilePlan,
    scored: int,
    place: Callable[[Region], None],
) -> None:
    """Heatmaps -> regions (placed on the ground where possible) -> the frame's verdict."""
    result.tiles_scored = scored
    result.heatmaps = list(heatmaps.values())
    regions: list[Region] = []
    for heatmap in heatmaps.values():
        regions.extend(find_regions(heatmap, plan))
    for region in regions:
        place(region)
    regions.sort(key=lambda g: (g.level != "alert", -g.peak))
    result.regions = regions
    if any(r.level == "alert" for r in regions):
        result.verdict = "suspected"
    elif regions:
        result.verdict = "review"
    else:
        result.verdict = "clear"
    if scored == 0:
        result.verdict = "unusable"
        result.notes.append("no tile could be decoded and scored")


def _geometry(tags: Geotags, reader: FrameReader, options: ScanOptions) -> FrameGeometry:
    intrinsics = intrinsics_for(
        tags,
        reader.width,
        reader.height,
        sensor_width_mm=options.sensor_width_mm,
        focal_length_mm=options.focal_length_mm,
    )
    return frame_geometry(
        tags,
        intrinsics,
        reader.width,
        reader.height,
        height_m=options.height_m,
        ground_elevation_m=options.ground_elevation_m,
        assume_nadir=options.assume_nadir,
    )


def empty_heatmaps(scorer: Scorer, plan: TilePlan) -> dict[str, Heatmap]:
    """One heatmap per controlled species the bundle can say anything about."""
    keys = scorer.card.label_keys
    maps: dict[str, Heatmap] = {}
    for key, label in TAXONOMY.items():
        if label.role is not Role.CONTROLLED:
            continue
        if key in keys:
            maps[key] = Heatmap.empty(key, plan.rows, plan.cols, trained=True)
        elif any(lab.review_for == key for lab in scorer.card.labels):
            maps[key] = Heatmap.empty(key, plan.rows, plan.cols, trained=False)
    return maps


def _tile_values(score: Score, scorer: Scorer, key: str, trained: bool) -> tuple[float, int]:
    species = score.species_score(key)
    level = 0
    if species is not None and species.level is Level.ALERT:
        level = LEVEL_ALERT
    elif species is not None and species.level is Level.REVIEW:
        level = LEVEL_REVIEW
    if trained:
        return score.probabilities[key], level
    stand_ins = [lab.key for lab in scorer.card.labels if lab.review_for == key]
    return max(score.probabilities[k] for k in stand_ins), level


def score_tiles_into(
    tiles: Iterable[tuple[TileBox, np.ndarray]],
    scorer: Scorer,
    heatmaps: dict[str, Heatmap],
    batch_size: int,
) -> int:
    """Score tiles in batches and write each species' value and level into its heatmap."""
    # Tiles are square already: "squash" resizes them whole, with the card's interpolation,
    # through the one preprocessing implementation (no centre crop: tile borders matter).
    spec = replace(scorer.card.preprocessing, resize="squash")
    pending: list[tuple[int, int]] = []
    batch: list[np.ndarray] = []
    scored = 0

    def flush() -> None:
        nonlocal scored
        if not batch:
            return
        for (row, col), score in zip(pending, scorer.score_tiles(batch), strict=True):
            for key, heatmap in heatmaps.items():
                value, level = _tile_values(score, scorer, key, heatmap.trained)
                heatmap.values[row, col] = value
                heatmap.levels[row, col] = level
        scored += len(batch)
        pending.clear()
        batch.clear()

    for box, pixels in tiles:
        batch.append(_to_input(pixels, spec))
        pending.append((box.row, box.col))
        if len(batch) >= batch_size:
            flush()
    flush()
    return scored


def _to_input(pixels: np.ndarray, spec: Preprocessing) -> np.ndarray:
    """A tile at the decoded scale -> the model's input square (uint8 HWC)."""
    h, w = pixels.shape[:2]
    if (w, h) == (spec.input_size, spec.input_size):
        return pixels
    return np.asarray(resize_and_crop(Image.fromarray(pixels), spec))


def place_region(region: Region, geo: FrameGeometry) -> None:
    """Ground point and footprint of a region, when the frame's geometry allows."""
    point = geo.project(*region.centre)
    if point is None:
        return
    region.ground = {
        "lat": round(point.lat, 7),
        "lon": round(point.lon, 7),
        "error_m": point.error_m,
        "quality": geo.quality.value,
    }
    x0, y0, x1, y1 = region.box
    corners = [geo.project(x, y) for x, y in ((x0, y0), (x1, y0), (x1, y1), (x0, y1))]
    if any(c is None for c in corners):
        return
    ring = [(round(c.lon, 7), round(c.lat, 7)) for c in corners if c is not None]
    if _signed_area(ring) < 0:  # RFC 7946: exterior rings counterclockwise
        ring.reverse()
    ring.append(ring[0])
    region.footprint = ring


def _signed_area(ring: list[tuple[float, float]]) -> float:
    return 0.5 * sum(
        x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(ring, ring[1:] + ring[:1], strict=True)
    )


def is_reliable(result: FrameResult) -> bool:
    return result.geometry.get("quality") in (Quality.GOOD.value, Quality.APPROXIMATE.value)


def save_result(result: FrameResult, path: Path) -> None:
    """Write atomically: a resumed scan never reads half a result."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(result.as_dict(), ensure_ascii=False), "utf-8")
    os.replace(tmp, path)


def load_result(path: Path) -> FrameResult | None:
    try:
        return FrameResult.from_dict(json.loads(path.read_text("utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
        return None
