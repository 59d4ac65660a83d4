"""GeoTIFF orthomosaics, scanned window by window (rasterio, from the ``geo`` extra).

An orthomosaic is already on the ground: its geotransform maps every pixel to map
coordinates, so regions are placed exactly (to within a tile) with no camera model. Tiles
are read as windows, decimated by GDAL when the model needs fewer pixels (overviews are used
when the file has them), so memory stays at a few tiles whatever the mosaic's size.
"""

from __future__ import annotations

import math
import os
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from plantscout.drone.regions import Region
from plantscout.drone.scan import (
    FrameResult,
    ScanOptions,
    empty_heatmaps,
    file_sha256,
    finalize,
    model_gsd,
    score_tiles_into,
    too_coarse,
)
from plantscout.drone.tiling import TileBox, TilePlan, plan_tiles
from plantscout.model.scorer import Scorer

PREVIEW_MAX_SIDE = 1024
EARTH_M_PER_DEG = 111_320.0


def _require_rasterio() -> Any:
    try:
        import rasterio
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise RuntimeError('GeoTIFF orthomosaics need rasterio: pip install -e ".[geo]"') from exc
    return rasterio


def scan_orthomosaic(
    path: str | os.PathLike[str],
    scorer: Scorer,
    options: ScanOptions = ScanOptions(),
    *,
    sha256: str | None = None,
) -> FrameResult:
    """Scan a georeferenced GeoTIFF. Errors become ``verdict="error"`` results."""
    started = time.perf_counter()
    result = FrameResult(
        file=os.fspath(path),
        sha256=sha256 or file_sha256(path),
        model=scorer.identity,
        options=options.fingerprint(),
    )
    try:
        with warnings.catch_warnings():
            # rasterio's own use of affine's `*` warns on every window; not ours to fix.
            warnings.simplefilter("ignore", PendingDeprecationWarning)
            _scan(result, Path(path), scorer, options)
    except Exception as exc:  # noqa: BLE001 - GDAL raises many kinds; the flight goes on
        result.verdict = "error"
        result.error = {"code": "unreadable", "message": f"{exc.__class__.__name__}: {exc}"}
    result.seconds = time.perf_counter() - started
    return result


def _scan(result: FrameResult, path: Path, scorer: Scorer, options: ScanOptions) -> None:
    rasterio = _require_rasterio()
    from rasterio.enums import Resampling
    from rasterio.windows import Window

    with rasterio.open(path) as ds:
        if ds.count < 3:
            raise ValueError(f"{path.name} has {ds.count} band(s); an RGB orthomosaic has 3+")
        result.width, result.height = ds.width, ds.height
        to_lonlat = _lonlat_transformer(ds)
        gsd = options.gsd_m or _gsd_m(ds, to_lonlat)
        spec = scorer.card.preprocessing
        plan = plan_tiles(
            ds.width,
            ds.height,
            spec.input_size,
            frame_gsd_m=gsd,
            model_gsd_m=model_gsd(scorer, options),
            fallback_tile_px=options.tile_px,
            overlap=options.overlap,
            max_tiles=options.max_tiles,
        )
        result.plan = plan.as_dict()
        result.notes.extend(plan.notes)
        result.geometry = {
            "quality": "georeferenced",
            "flags": [],
            "crs": ds.crs.to_string() if ds.crs else None,
            "gsd_m": gsd,
            "height_m": None,
        }
        if ds.crs is None:
            result.geometry["quality"] = "unreliable"
            result.geometry["flags"] = ["no_crs"]
        if too_coarse(plan, options, result):
            return
        centre = _apply(ds.transform, ds.width / 2, ds.height / 2)
        lon, lat = to_lonlat(*centre) if to_lonlat else (None, None)
        result.geotags = {"lat": lat, "lon": lon, "captured_at": None, "warnings": []}
        heatmaps = empty_heatmaps(scorer, plan)
        read_px = _read_size(plan)
        rgb = _rgb_bands(ds)

        def tiles() -> Iterator[tuple[TileBox, np.ndarray]]:
            for box in plan.boxes():
                window = Window(box.x0, box.y0, box.x1 - box.x0, box.y1 - box.y0)
                data = ds.read(
                    rgb,
                    window=window,
                    out_shape=(3, read_px, read_px),
                    resampling=Resampling.average,
                    boundless=True,
                    fill_value=0,
                )
                mask = ds.read_masks(1, window=window, out_shape=(read_px, read_px), boundless=True)
                if not mask.any():
                    continue  # outside the mosaic's footprint: nothing to score
                yield box, _to_uint8(data).transpose(1, 2, 0)

        scored = score_tiles_into(tiles(), scorer, heatmaps, options.batch_size)
        result.preview = _preview(ds, rgb)

        def place(region: Region) -> None:
            if to_lonlat is None:
                return
            half_tile = (plan.tile_ground_m or 0.0) / 2.0
            cx, cy = region.centre
            lon, lat = to_lonlat(*_apply(ds.transform, cx, cy))
            region.ground = {
                "lat": round(lat, 7),
                "lon": round(lon, 7),
                "error_m": round(max(1.0, half_tile), 1),
                "quality": "georeferenced",
            }
            x0, y0, x1, y1 = region.box
            ring = [
                tuple(round(v, 7) for v in to_lonlat(*_apply(ds.transform, x, y)))
                for x, y in ((x0, y0), (x0, y1), (x1, y1), (x1, y0))
            ]
            if _signed_area(ring) < 0:
                ring.reverse()
            ring.append(ring[0])
            region.footprint = ring  # type: ignore[assignment]

        finalize(result, heatmaps, plan, scored, place)


def _rgb_bands(ds: Any) -> list[int]:
    from rasterio.enums import ColorInterp

    interp = list(ds.colorinterp)
    wanted = [ColorInterp.red, ColorInterp.green, ColorInterp.blue]
    if all(c in interp for c in wanted):
        return [interp.index(c) + 1 for c in wanted]
    return [1, 2, 3]


def _read_size(plan: TilePlan) -> int:
    """Read each tile at no more than twice the model input (GDAL decimates)."""
    return min(plan.tile_px, 2 * plan.input_size)


def _to_uint8(data: np.ndarray) -> np.ndarray:
    if data.dtype == np.uint8:
        return data
    data = data.astype(np.float32)
    top = float(np.nanpercentile(data, 99.5)) or 1.0
    return np.clip(data / top * 255.0, 0, 255).astype(np.uint8)


def _preview(ds: Any, rgb: list[int]) -> np.ndarray:
    from rasterio.enums import Resampling

    p = max(1, math.ceil(max(ds.width, ds.height) / PREVIEW_MAX_SIDE))
    shape = (3, max(1, ds.height // p), max(1, ds.width // p))
    data = ds.read(rgb, out_shape=shape, resampling=Resampling.average)
    return np.ascontiguousarray(_to_uint8(data).transpose(1, 2, 0))


def _lonlat_transformer(ds: Any) -> Any:
    if ds.crs is None:
        return None
    if ds.crs.is_geographic:
        return lambda x, y: (float(x), float(y))
    from pyproj import Transformer

    transformer = Transformer.from_crs(ds.crs.to_wkt(), "EPSG:4326", always_xy=True)
    return lambda x, y: tuple(float(v) for v in transformer.transform(x, y))


def _gsd_m(ds: Any, to_lonlat: Any) -> float | None:
    res_x = abs(ds.transform.a)
    if ds.crs is None:
        return None
    if ds.crs.is_geographic:
        _, lat = to_lonlat(*(_apply(ds.transform, ds.width / 2, ds.height / 2)))
        return res_x * EARTH_M_PER_DEG * math.cos(math.radians(lat))
    factor = ds.crs.linear_units_factor[1] if ds.crs.linear_units_factor else 1.0
    return res_x * factor


def _apply(transform: Any, x: float, y: float) -> tuple[float, float]:
    """Pixel (column, row) -> map coordinates through an affine geotransform."""
    a, b, c, d, e, f = tuple(transform)[:6]
    return a * x + b * y + c, d * x + e * y + f


def _signed_area(ring: list) -> float:
    return 0.5 * sum(
        x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(ring, ring[1:] + ring[:1], strict=True)
    )
