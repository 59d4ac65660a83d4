"""Geotags of real drone frames match the values in ../shared/fixtures/drone/README.md.

The expected values were read by an independent EXIF/XMP reader (see that README); GPS must
agree to 1e-6 degrees. Bad metadata must give partial results and warnings, never an error.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from plantscout.drone.geotags import Geotags, parse_xmp, read_geotags, read_xmp_packet

# file: (make, model, width, height, lat, lon, gps altitude, relative altitude,
#        gimbal pitch, gimbal yaw, flight yaw) — straight from the fixture README.
README = {
    "hemp_dji_mini3_DJI_0705.JPG": (
        "DJI", "FC3682", 4000, 2250, 40.0815426388889, -88.2154435555556, 171.325, 5.00,
        0.0, 0.0, -89.7,
    ),
    "hemp_dji_mini3_DJI_0687.JPG": (
        "DJI", "FC3682", 4000, 2250, 40.082808, -88.2127955277778, 174.91, 4.40,
        0.0, 0.0, 3.00,
    ),
    "odm_dji_inspire1_DJI_0061.JPG": (
        "DJI", "FC350", 2400, 1800, 41.5485961666667, -83.6986487777778, 119.7, None,
        -89.9, 103.0, None,
    ),
    "odm_dji_phantom3_1JI_0064.JPG": (
        "DJI", "FC300X", 2400, 1800, 41.5494078055556, -83.69891975, 122.3, None,
        -89.9, 3.8, None,
    ),
    "thermal_dji_h20t.jpg": (
        "DJI", "ZH20T", 640, 512, 40.5637810833333, -79.7649628055556, 221.404, 16.508,
        -10.5, 32.50, 30.30,
    ),
    "thermal_dji_h20n_DJI_0006_R.JPG": (
        "DJI", "ZH20N", 640, 512, 22.5961963333333, 114.007268, 90.337, 42.602,
        -32.9, -106.6, -86.0,
    ),
    "thermal_dji_xts_truncated.jpg": (
        "DJI", "XT S", 640, 512, 36.7296940277778, 119.843341527778, -29.4, 37.70,
        19.90, 91.30, 86.20,
    ),
}  # fmt: skip


def test_the_table_covers_every_fixture(drone_fixtures: Path) -> None:
    images = {p.name for p in drone_fixtures.iterdir() if p.suffix.lower() in (".jpg", ".jpeg")}
    assert images == set(README)


@pytest.mark.parametrize("name", sorted(README))
def test_fixture_matches_readme(drone_fixtures: Path, name: str) -> None:
    make, model, width, height, lat, lon, alt, rel, pitch, yaw, flight_yaw = README[name]
    tags = read_geotags((drone_fixtures / name).read_bytes())
    assert (tags.camera_make, tags.camera_model) == (make, model)
    assert (tags.image_width, tags.image_height) == (width, height)
    assert tags.lat == pytest.approx(lat, abs=1e-6)
    assert tags.lon == pytest.approx(lon, abs=1e-6)
    assert tags.altitude_m == pytest.approx(alt, abs=1e-3)
    if rel is None:
        assert tags.relative_altitude_m is None
    else:
        assert tags.relative_altitude_m == pytest.approx(rel, abs=1e-3)
    assert tags.gimbal_pitch == pytest.approx(pitch, abs=1e-3)
    assert tags.gimbal_yaw == pytest.approx(yaw, abs=1e-3)
    if flight_yaw is None:
        # The README lists no flight yaw for the ODM frames (they have no XMP). The aircraft
        # yaw *is* in their DJI maker note, so we report it, marked as coming from there.
        assert tags.sources.get("flight_yaw") in (None, "makernote:dji")
    else:
        assert tags.flight_yaw == pytest.approx(flight_yaw, abs=1e-3)
    assert tags.captured_at is not None


def test_odm_angles_come_from_dji_maker_notes(drone_fixtures: Path) -> None:
    tags = read_geotags((drone_fixtures / "odm_dji_inspire1_DJI_0061.JPG").read_bytes())
    assert tags.sources["gimbal_pitch"] == "makernote:dji"
    assert tags.flight_yaw == pytest.approx(-87.9, abs=1e-3)  # aircraft yaw, maker note
    assert not tags.gimbal_suspect
    assert tags.warnings == []


@pytest.mark.parametrize("name", ["hemp_dji_mini3_DJI_0705.JPG", "hemp_dji_mini3_DJI_0687.JPG"])
def test_mini3_zero_gimbal_is_flagged_suspect(drone_fixtures: Path, name: str) -> None:
    tags = read_geotags((drone_fixtures / name).read_bytes())
    assert tags.gimbal_suspect
    assert any("gimbal" in w for w in tags.warnings)
    assert tags.sources["gimbal_pitch"] == "xmp:dji"  # XMP beats the maker note
    assert tags.focal_length_mm == pytest.approx(6.72)
    assert tags.focal_length_35mm == pytest.approx(24.0)


def test_truncated_file_gives_metadata_and_clear_warnings(drone_fixtures: Path) -> None:
    tags = read_geotags((drone_fixtures / "thermal_dji_xts_truncated.jpg").read_bytes())
    assert tags.has_position
    assert tags.captured_at == datetime(2019, 12, 25, 16, 10, 22, 657000)
    # Its XMP declares xmlns:DJI twice: repaired, and said so.
    assert any("malformed" in w and "repaired" in w for w in tags.warnings)
    assert any("negative" in w for w in tags.warnings)
    assert any("above the horizon" in w for w in tags.warnings)


def test_thermal_source_and_timezone_from_xmp(drone_fixtures: Path) -> None:
    tags = read_geotags((drone_fixtures / "thermal_dji_h20n_DJI_0006_R.JPG").read_bytes())
    assert tags.is_thermal
    assert tags.captured_at == datetime(
        2022, 3, 24, 17, 37, 59, tzinfo=timezone(timedelta(hours=8))
    )


@pytest.mark.parametrize("name", sorted(README))
def test_truncations_and_corruptions_never_raise(drone_fixtures: Path, name: str) -> None:
    data = (drone_fixtures / name).read_bytes()
    rng = random.Random(name)
    cuts = [0, 1, 2, 3, 4, 10, 100, 500, 2000, 20_000, len(data) // 2]
    cuts += [rng.randrange(len(data)) for _ in range(5)]
    for cut in cuts:
        tags = read_geotags(data[:cut])
        assert isinstance(tags, Geotags)
        assert tags.warnings, f"cut at {cut}: no warning"
    head = bytearray(data[:70_000])
    for _ in range(30):
        corrupt = bytearray(head)
        for _ in range(20):
            corrupt[rng.randrange(len(corrupt))] = rng.randrange(256)
        assert isinstance(read_geotags(bytes(corrupt)), Geotags)


def test_no_metadata_at_all() -> None:
    tags = read_geotags(b"not an image")
    assert not tags.has_position
    assert any("no GPS" in w for w in tags.warnings)
    assert read_geotags(b"").warnings == ["file is empty: no metadata"]


def _xmp(body: str, namespaces: str) -> bytes:
    return (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        f'<rdf:Description rdf:about="" {namespaces}>{body}</rdf:Description></rdf:RDF>'
        "</x:xmpmeta>"
    ).encode()


def _jpeg_with_xmp(packet: bytes) -> bytes:
    """A real JPEG (Pillow) with an XMP APP1 segment spliced in after SOI."""
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (90, 140, 60)).save(buf, "JPEG")
    jpeg = buf.getvalue()
    body = b"http://ns.adobe.com/xap/1.0/\x00" + packet
    segment = b"\xff\xe1" + (len(body) + 2).to_bytes(2, "big") + body
    return jpeg[:2] + segment + jpeg[2:]


def test_skydio_struct_orientation() -> None:
    ns = 'xmlns:drone-skydio="https://www.skydio.com/drone-skydio/1.0/"'
    body = (
        "<drone-skydio:Latitude>37.5</drone-skydio:Latitude>"
        "<drone-skydio:Longitude>-122.25</drone-skydio:Longitude>"
        "<drone-skydio:AbsoluteAltitude>80.5</drone-skydio:AbsoluteAltitude>"
        "<drone-skydio:RelativeAltitude>60.0</drone-skydio:RelativeAltitude>"
        '<drone-skydio:CameraOrientationNED rdf:parseType="Resource">'
        "<drone-skydio:Roll>0.5</drone-skydio:Roll>"
        "<drone-skydio:Pitch>-88.0</drone-skydio:Pitch>"
        "<drone-skydio:Yaw>45.0</drone-skydio:Yaw>"
        "</drone-skydio:CameraOrientationNED>"
        '<drone-skydio:CalibratedFocalLength drone-skydio:X="3000.5" drone-skydio:Y="3001"/>'
    )
    tags = read_geotags(_jpeg_with_xmp(_xmp(body, ns)))
    assert (tags.lat, tags.lon) == (37.5, -122.25)
    assert tags.sources["position"] == "xmp:skydio"
    assert tags.relative_altitude_m == 60.0
    assert (tags.gimbal_pitch, tags.gimbal_yaw, tags.gimbal_roll) == (-88.0, 45.0, 0.5)
    assert tags.focal_length_px == 3000.5
    assert (tags.image_width, tags.image_height) == (64, 48)


def test_parrot_attributes() -> None:
    ns = (
        'xmlns:drone-parrot="http://www.parrot.com/drone-parrot/1.0/" '
        'xmlns:Camera="http://pix4d.com/camera/1.0/"'
    )
    body = ""
    attrs = (
        'drone-parrot:CameraPitchDegree="-89.5" drone-parrot:CameraYawDegree="-170.25" '
        'drone-parrot:CameraRollDegree="0.1" drone-parrot:DroneYawDegree="-171" '
        'Camera:AboveGroundAltitude="50.2" Camera:Pitch="0.5"'
    )
    tags = read_geotags(_jpeg_with_xmp(_xmp(body, ns + " " + attrs)))
    assert tags.gimbal_pitch == -89.5  # the Pix4D Camera:Pitch (0 = nadir) is not mixed in
    assert tags.gimbal_yaw == -170.25
    assert tags.flight_yaw == -171.0
    assert tags.relative_altitude_m == 50.2
    assert not tags.has_position


def test_hostile_xmp_is_not_expanded() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        b'<rdf:Description xmlns:drone-dji="http://www.dji.com/drone-dji/1.0/" '
        b'drone-dji:RelativeAltitude="&b;"/></rdf:RDF></x:xmpmeta>'
    )
    warnings: list[str] = []
    properties = parse_xmp(bomb, warnings)
    assert warnings  # refused by defusedxml, then read without entity expansion
    assert all("aaaa" not in v for v in properties.values())


def test_xmp_packet_found_in_jpeg_segments(drone_fixtures: Path) -> None:
    data = (drone_fixtures / "thermal_dji_h20t.jpg").read_bytes()
    packet = read_xmp_packet(data)
    assert packet is not None and packet.startswith(b"<x:xmpmeta")
    assert read_xmp_packet((drone_fixtures / "odm_dji_phantom3_1JI_0064.JPG").read_bytes()) is None


def test_truncation_is_detected(drone_fixtures: Path) -> None:
    truncated = read_geotags((drone_fixtures / "thermal_dji_xts_truncated.jpg").read_bytes())
    assert truncated.truncated and any("truncated" in w for w in truncated.warnings)
    whole = read_geotags((drone_fixtures / "thermal_dji_h20t.jpg").read_bytes())
    assert not whole.truncated


@pytest.mark.parametrize("name", sorted(README))
def test_thermal_frames_are_recognised(drone_fixtures: Path, name: str) -> None:
    tags = read_geotags((drone_fixtures / name).read_bytes())
    assert tags.is_thermal == name.startswith("thermal_")
