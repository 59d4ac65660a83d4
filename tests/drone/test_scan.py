"""Scanning synthetic frames with the colour-rule bundle: regions where the plants are."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from plantscout.drone import FrameResult, ScanOptions, scan_frame
from plantscout.drone.overlay import render_overlay
from plantscout.model import Scorer


@pytest.fixture(scope="module")
def scorer(tiny_bundle: Path) -> Scorer:
    return Scorer(tiny_bundle, intra_op_threads=1, batch_size=16)


def _distance(lat0: float, lon0: float, lat1: float, lon1: float) -> tuple[float, float]:
    from pyproj import Geod

    azimuth, _, distance = Geod(ellps="WGS84").inv(lon0, lat0, lon1, lat1)
    return azimuth % 360, distance


def test_green_patch_becomes_a_located_suspected_region(scorer: Scorer, make_drone_jpeg) -> None:
    # FC6310 (13.2 mm), 8.8 mm, 1200 px wide -> fx 800 px; 50 m -> 6.25 cm/px.
    data = make_drone_jpeg(
        size=(1200, 800), patches=((560, 160, 840, 440),), gimbal=(-90.0, 0.0, 0.0)
    )
    options = ScanOptions(model_gsd_m=0.125)  # tiles of 64 × 12.5 cm = 8 m = 128 px
    result = scan_frame(data, scorer, options)
    assert result.plan["basis"] == "gsd" and result.plan["tile_px"] == 128
    assert result.geometry["quality"] == "good"
    assert result.verdict == "suspected"
    assert len(result.suspected) == 1
    region = result.suspected[0]
    assert region.species == "cannabis" and region.peak > 0.8
    x0, y0, x1, y1 = region.box
    assert x0 <= 700 <= x1 and y0 <= 300 <= y1
    # The patch centre is 100 px east and 100 px north of the frame centre: 6.25 m each way.
    assert region.ground is not None
    azimuth, distance = _distance(40.0, -88.0, region.ground["lat"], region.ground["lon"])
    assert distance == pytest.approx(8.84, abs=3.0)
    assert 20 < azimuth < 70
    assert region.ground["error_m"] >= 5.0  # GPS alone is ±5 m
    ring = region.footprint
    assert ring is not None and ring[0] == ring[-1] and len(ring) == 5


def test_heading_rotates_the_ground_point(scorer: Scorer, make_drone_jpeg) -> None:
    data = make_drone_jpeg(patches=((560, 160, 840, 440),), gimbal=(-90.0, 90.0, 0.0))
    region = scan_frame(data, scorer, ScanOptions(model_gsd_m=0.125)).suspected[0]
    assert region.ground is not None
    azimuth, _ = _distance(40.0, -88.0, region.ground["lat"], region.ground["lon"])
    assert 110 < azimuth < 160  # north-east in the image is south-east on the ground


def test_plain_field_has_no_regions(scorer: Scorer, make_drone_jpeg) -> None:
    result = scan_frame(make_drone_jpeg(), scorer, ScanOptions())
    assert result.verdict == "clear" and result.regions == []
    assert result.tiles_scored == result.plan["rows"] * result.plan["cols"] > 1


def test_two_patches_two_regions_and_unreliable_geometry(scorer: Scorer, make_drone_jpeg) -> None:
    data = make_drone_jpeg(
        patches=((0, 0, 200, 200), (900, 500, 1200, 800)), gimbal=(-45.0, 0.0, 0.0)
    )
    result = scan_frame(data, scorer, ScanOptions(tile_px=128, overlap=0.0))
    assert len(result.suspected) == 2
    assert result.geometry["quality"] == "unreliable" and "oblique" in result.geometry["flags"]
    assert all(r.ground is None and r.footprint is None for r in result.regions)


def test_result_round_trips_through_json(scorer: Scorer, make_drone_jpeg) -> None:
    result = scan_frame(make_drone_jpeg(patches=((300, 300, 500, 500),)), scorer, ScanOptions())
    again = FrameResult.from_dict(json.loads(json.dumps(result.as_dict())))
    assert again.as_dict() == result.as_dict()
    assert again.regions[0].box == result.regions[0].box


def test_overlay_marks_regions(scorer: Scorer, make_drone_jpeg) -> None:
    result = scan_frame(make_drone_jpeg(patches=((300, 300, 500, 500),)), scorer, ScanOptions())
    image = render_overlay(result)
    assert image is not None and image.size == (result.preview.shape[1], result.preview.shape[0])
    # The region's outline is drawn in the alert colour somewhere on the picture.
    import numpy as np

    pixels = np.asarray(image).reshape(-1, 3)
    assert (pixels == (255, 40, 40)).all(axis=1).any()


def test_thermal_frames_are_skipped_not_guessed(scorer: Scorer, drone_fixtures: Path) -> None:
    result = scan_frame(drone_fixtures / "thermal_dji_h20n_DJI_0006_R.JPG", scorer)
    assert result.verdict == "unusable" and result.tiles_scored == 0
    assert any("thermal" in n for n in result.notes)


def test_unreadable_frame_is_an_error_result(scorer: Scorer) -> None:
    result = scan_frame(b"not an image", scorer)
    assert (
        result.verdict == "error" and result.error and result.error["code"] == "unsupported_format"
    )


def test_truncated_fixture_scans_partially(scorer: Scorer, drone_fixtures: Path) -> None:
    result = scan_frame(
        drone_fixtures / "thermal_dji_xts_truncated.jpg", scorer, ScanOptions(skip_thermal=False)
    )
    assert result.verdict != "error" and result.tiles_scored > 0
    assert any("truncated" in n for n in result.notes)


def test_card_gsd_is_used(tiny_bundle: Path, tmp_path: Path, make_drone_jpeg) -> None:
    from plantscout.model.testing import build_tiny_bundle

    bundle = build_tiny_bundle(tmp_path / "b", card_overrides={"drone": {"gsd_m": 0.125}})
    result = scan_frame(make_drone_jpeg(), Scorer(bundle, intra_op_threads=1), ScanOptions())
    assert result.plan["model_gsd_m"] == 0.125 and result.plan["tile_px"] == 128


def test_far_too_coarse_frames_are_refused(scorer: Scorer, make_drone_jpeg) -> None:
    # 6.25 cm/px frame, model at 1 cm/px: ×6 upsampling would invent the detail it judges.
    data = make_drone_jpeg(patches=((560, 160, 840, 440),))
    result = scan_frame(data, scorer, ScanOptions(model_gsd_m=0.01))
    assert result.verdict == "unusable" and result.tiles_scored == 0 and not result.regions
    assert any("coarser than the model" in n for n in result.notes)
    forced = scan_frame(data, scorer, ScanOptions(model_gsd_m=0.01, max_upsample=10.0))
    assert forced.verdict == "suspected"


def test_training_card_tile_gsd_is_read(tmp_path: Path, make_drone_jpeg) -> None:
    from plantscout.model.testing import build_tiny_bundle

    bundle = build_tiny_bundle(
        tmp_path / "t", card_overrides={"tiles": {"gsd_m": [0.125, 0.25], "size_px": 64}}
    )
    result = scan_frame(make_drone_jpeg(), Scorer(bundle, intra_op_threads=1), ScanOptions())
    assert result.plan["model_gsd_m"] == 0.125
