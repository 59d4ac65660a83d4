"""Ground projection: directions, distances against pyproj, and honest reliability flags."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from plantscout.drone.camera import Intrinsics, intrinsics_for
from plantscout.drone.geometry import Quality, frame_geometry
from plantscout.drone.geotags import Geotags, read_geotags


def _tags(**kwargs: object) -> Geotags:
    base = dict(
        lat=40.0,
        lon=-88.0,
        relative_altitude_m=100.0,
        gimbal_pitch=-90.0,
        gimbal_yaw=0.0,
        gimbal_roll=0.0,
        camera_model="FC6310",
        focal_length_mm=8.8,
        image_width=4000,
        image_height=3000,
    )
    base.update(kwargs)
    return Geotags(**base)  # type: ignore[arg-type]


def _geo(**kwargs: object):
    tags = _tags(**kwargs)
    k = intrinsics_for(tags)
    return frame_geometry(tags, k, tags.image_width or 0, tags.image_height or 0)


def _bearing_distance(lat0: float, lon0: float, lat1: float, lon1: float) -> tuple[float, float]:
    from pyproj import Geod

    azimuth, _, distance = Geod(ellps="WGS84").inv(lon0, lat0, lon1, lat1)
    return azimuth % 360.0, distance


def test_intrinsics_from_table_and_gsd() -> None:
    geo = _geo()
    assert geo.intrinsics is not None and geo.intrinsics.source == "sensor_width:table"
    # Phantom 4 Pro: 8.8 mm on a 13.2 mm sensor, 4000 px -> 2667 px; 100 m -> 3.75 cm/px
    assert geo.intrinsics.fx == pytest.approx(8.8 / 13.2 * 4000)
    assert geo.gsd_m == pytest.approx(100.0 / (8.8 / 13.2 * 4000))
    assert geo.quality is Quality.GOOD


@pytest.mark.parametrize("heading", [0.0, 90.0, -135.0, 30.0])
def test_image_top_points_along_the_heading(heading: float) -> None:
    geo = _geo(gimbal_yaw=heading)
    centre = geo.project(2000, 1500)
    top = geo.project(2000, 0)
    right = geo.project(4000, 1500)
    assert centre is not None and top is not None and right is not None
    assert centre.lat == pytest.approx(40.0, abs=1e-9) and centre.lon == pytest.approx(
        -88.0, abs=1e-9
    )
    az_top, d_top = _bearing_distance(40.0, -88.0, top.lat, top.lon)
    az_right, d_right = _bearing_distance(40.0, -88.0, right.lat, right.lon)
    assert az_top == pytest.approx(heading % 360.0, abs=0.01)
    assert az_right == pytest.approx((heading + 90.0) % 360.0, abs=0.01)
    # distance = height * (pixels from centre) / fx, checked by pyproj to a millimetre
    fx = 8.8 / 13.2 * 4000
    assert d_top == pytest.approx(100.0 * 1500 / fx, abs=1e-3)
    assert d_right == pytest.approx(100.0 * 2000 / fx, abs=1e-3)


def test_tilted_camera_moves_the_centre_forward() -> None:
    geo = _geo(gimbal_pitch=-80.0, gimbal_yaw=90.0)  # 10 degrees off nadir, facing east
    point = geo.project(2000, 1500)
    assert point is not None
    azimuth, distance = _bearing_distance(40.0, -88.0, point.lat, point.lon)
    assert azimuth == pytest.approx(90.0, abs=0.01)
    assert distance == pytest.approx(100.0 * math.tan(math.radians(10.0)), abs=1e-3)
    assert geo.quality is Quality.GOOD


@pytest.mark.parametrize(
    "kwargs,quality,flag",
    [
        ({"gimbal_pitch": -70.0}, Quality.APPROXIMATE, "oblique"),
        ({"gimbal_pitch": -40.0}, Quality.UNRELIABLE, "oblique"),
        ({"gimbal_pitch": 10.0}, Quality.UNRELIABLE, "camera_above_horizon"),
        ({"relative_altitude_m": None}, Quality.UNRELIABLE, "missing_altitude"),
        ({"relative_altitude_m": 0.2}, Quality.UNRELIABLE, "implausible_altitude"),
        ({"camera_model": "X", "focal_length_mm": None}, Quality.UNRELIABLE, "unknown_camera"),
        (
            {"camera_model": "X", "focal_length_35mm": 24.0},
            Quality.APPROXIMATE,
            "intrinsics_from_35mm_equivalent",
        ),
        ({"lat": None, "lon": None}, Quality.NONE, "no_gps"),
        ({"gimbal_roll": 170.0}, Quality.UNRELIABLE, "heading_ambiguous"),
        ({"orientation": 6}, Quality.UNRELIABLE, "rotated_frame"),
    ],
)
def test_unreliable_geometry_is_flagged_not_guessed(
    kwargs: dict, quality: Quality, flag: str
) -> None:
    geo = _geo(**kwargs)
    assert geo.quality is quality
    assert flag in geo.flags
    point = geo.project(100, 100)
    if quality in (Quality.UNRELIABLE, Quality.NONE):
        assert point is None


def test_suspect_zero_gimbal_assumes_nadir_only_when_asked() -> None:
    tags = _tags(
        gimbal_pitch=0.0, gimbal_yaw=0.0, gimbal_roll=0.0, gimbal_suspect=True, flight_yaw=45.0
    )
    k = intrinsics_for(tags)
    strict = frame_geometry(tags, k, 4000, 3000)
    assert strict.quality is Quality.UNRELIABLE and "gimbal_suspect" in strict.flags
    assumed = frame_geometry(tags, k, 4000, 3000, assume_nadir=True)
    assert assumed.quality is Quality.APPROXIMATE
    assert {"assumed_nadir", "heading_from_flight_yaw"} <= set(assumed.flags)
    top = assumed.project(2000, 0)
    assert top is not None
    assert _bearing_distance(40.0, -88.0, top.lat, top.lon)[0] == pytest.approx(45.0, abs=0.01)
    measured = frame_geometry(_tags(), k, 4000, 3000).project(2000, 0)
    assert measured is not None and top.error_m > measured.error_m  # assumptions cost accuracy


def test_user_height_and_ground_elevation() -> None:
    tags = _tags(relative_altitude_m=None, altitude_m=300.0)
    k = intrinsics_for(tags)
    assert frame_geometry(tags, k, 4000, 3000, height_m=80.0).height_m == 80.0
    assert frame_geometry(tags, k, 4000, 3000, ground_elevation_m=220.0).height_m == 80.0


# Fixture frames: what the geometry may say about each, given the README's facts.
FIXTURE_QUALITY = {
    "hemp_dji_mini3_DJI_0705.JPG": (Quality.APPROXIMATE, "assumed_nadir"),
    "hemp_dji_mini3_DJI_0687.JPG": (Quality.APPROXIMATE, "assumed_nadir"),
    "odm_dji_inspire1_DJI_0061.JPG": (Quality.UNRELIABLE, "missing_altitude"),
    "odm_dji_phantom3_1JI_0064.JPG": (Quality.UNRELIABLE, "missing_altitude"),
    "thermal_dji_h20t.jpg": (Quality.UNRELIABLE, "oblique"),
    "thermal_dji_h20n_DJI_0006_R.JPG": (Quality.UNRELIABLE, "oblique"),
    "thermal_dji_xts_truncated.jpg": (Quality.UNRELIABLE, "camera_above_horizon"),
}


@pytest.mark.parametrize("name", sorted(FIXTURE_QUALITY))
def test_fixture_geometry_quality(drone_fixtures: Path, name: str) -> None:
    tags = read_geotags((drone_fixtures / name).read_bytes())
    k = intrinsics_for(tags)
    assert tags.image_width and tags.image_height
    geo = frame_geometry(tags, k, tags.image_width, tags.image_height, assume_nadir=True)
    quality, flag = FIXTURE_QUALITY[name]
    assert geo.quality is quality and flag in geo.flags, geo.flags


def test_phantom3_with_known_height_is_good(drone_fixtures: Path) -> None:
    tags = read_geotags((drone_fixtures / "odm_dji_phantom3_1JI_0064.JPG").read_bytes())
    k = intrinsics_for(tags)
    assert k is not None and k.source == "sensor_width:table"
    geo = frame_geometry(tags, k, 2400, 1800, height_m=100.0)
    assert geo.quality is Quality.GOOD
    # Phantom 3: 3.61 mm on 6.17 mm, 2400 px wide copy -> ~7.1 cm/px at 100 m
    assert geo.gsd_m == pytest.approx(100.0 / (3.61 / 6.17 * 2400), rel=1e-4)  # pitch -89.9


def test_mini3_gsd_matches_dataset_readme(drone_fixtures: Path) -> None:
    """plants-v1 README: hemp frames ≈ 2 mm/px in the 4000 px originals."""
    tags = read_geotags((drone_fixtures / "hemp_dji_mini3_DJI_0705.JPG").read_bytes())
    k = intrinsics_for(tags)
    geo = frame_geometry(tags, k, 4000, 2250, assume_nadir=True)
    assert geo.gsd_m == pytest.approx(0.002, rel=0.15)


def test_calibrated_focal_beats_everything() -> None:
    tags = _tags(focal_length_px=3000.0)
    k = intrinsics_for(tags)
    assert isinstance(k, Intrinsics) and k.fx == 3000.0 and k.source == "calibrated"
