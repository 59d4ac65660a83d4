"""GeoTIFF orthomosaics: window-by-window scanning, regions placed by the geotransform."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

rasterio = pytest.importorskip("rasterio", reason="the geo extra is not installed")  # noqa: F841
pytestmark = pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")  # inside rasterio

from plantscout.drone import ScanOptions  # noqa: E402
from plantscout.drone.ortho import scan_orthomosaic  # noqa: E402
from plantscout.model import Scorer  # noqa: E402


def _mosaic(path: Path, *, crs: str = "EPSG:32616", nodata_left: bool = False) -> tuple:
    import rasterio
    from rasterio.transform import from_origin

    width, height, res = 1000, 800, 0.05
    origin_x, origin_y = 400_000.0, 4_440_000.0
    data = np.full((3, height, width), 128, np.uint8)
    data[:, 300:500, 600:800] = np.array([40, 200, 40], np.uint8)[:, None, None]
    alpha = np.full((height, width), 255, np.uint8)
    if nodata_left:
        alpha[:, :300] = 0
        data[:, :, :300] = 0
    transform = from_origin(origin_x, origin_y, res, res)
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=width,
        height=height,
        count=4,
        dtype="uint8",
        crs=crs,
        transform=transform,
        tiled=True,
        blockxsize=256,
        blockysize=256,
    ) as ds:
        ds.write(data, [1, 2, 3])
        ds.write(alpha, 4)
        ds.colorinterp = [
            rasterio.enums.ColorInterp.red,
            rasterio.enums.ColorInterp.green,
            rasterio.enums.ColorInterp.blue,
            rasterio.enums.ColorInterp.alpha,
        ]
    return transform, crs


def test_green_patch_in_a_utm_mosaic_is_placed_by_the_transform(
    tiny_bundle: Path, tmp_path: Path
) -> None:
    from pyproj import Transformer

    path = tmp_path / "ortho.tif"
    transform, crs = _mosaic(path)
    scorer = Scorer(tiny_bundle, intra_op_threads=1)
    result = scan_orthomosaic(path, scorer, ScanOptions(model_gsd_m=0.1))
    assert result.error is None, result.error
    assert result.geometry["quality"] == "georeferenced"
    assert result.geometry["gsd_m"] == pytest.approx(0.05)
    assert result.plan["tile_px"] == 128  # 64 px × 10 cm / 5 cm
    assert len(result.suspected) == 1
    region = result.suspected[0]
    x, y = transform.c + 700 * transform.a, transform.f + 400 * transform.e  # patch centre
    lon, lat = Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(x, y)
    assert region.ground is not None
    assert region.ground["lat"] == pytest.approx(lat, abs=5e-5)  # within ~5 m (one tile)
    assert region.ground["lon"] == pytest.approx(lon, abs=5e-5)
    ring = region.footprint
    assert ring is not None and ring[0] == ring[-1]
    assert result.preview is not None


def test_nodata_tiles_are_not_scored(tiny_bundle: Path, tmp_path: Path) -> None:
    path = tmp_path / "ortho.tif"
    _mosaic(path, nodata_left=True)
    scorer = Scorer(tiny_bundle, intra_op_threads=1)
    full = scan_orthomosaic(path, scorer, ScanOptions(tile_px=100, overlap=0.0))
    assert full.tiles_scored == 8 * 10 - 8 * 3  # three columns of tiles are all nodata
    assert len(full.suspected) == 1


def test_scan_cli_takes_geotiffs(tiny_bundle: Path, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from plantscout.cli import cli

    (tmp_path / "in").mkdir()
    _mosaic(tmp_path / "in" / "m.tif")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli,
        [
            "scan",
            str(tmp_path / "in"),
            "-o",
            str(out),
            "-m",
            str(tiny_bundle),
            "-q",
            "--model-gsd",
            "10",
        ],
    )
    assert result.exit_code == 0, result.output
    features = json.loads((out / "detections.geojson").read_text())["features"]
    assert len(features) == 1 and features[0]["geometry"]["type"] == "Polygon"
    assert features[0]["properties"]["geometry_quality"] == "georeferenced"
