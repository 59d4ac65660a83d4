"""Flight exports: RFC 7946 GeoJSON that a GIS library opens, KML that parses, CSV rows."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from plantscout.drone import ScanOptions, scan_frame
from plantscout.drone.exports import CSV_COLUMNS, region_rows, write_all
from plantscout.model import Scorer


@pytest.fixture(scope="module")
def results(tiny_bundle: Path, make_drone_jpeg):
    drone_jpeg = make_drone_jpeg
    scorer = Scorer(tiny_bundle, intra_op_threads=1)
    good = scan_frame(
        drone_jpeg(
            patches=((560, 160, 840, 440),), gimbal=(-90.0, 30.0, 0.0), lat=-33.9, lon=151.2
        ),
        scorer,
        ScanOptions(model_gsd_m=0.125),
        name="good.jpg",
    )
    oblique = scan_frame(
        drone_jpeg(patches=((0, 0, 300, 300),), gimbal=(-50.0, 0.0, 0.0), seed=1),
        scorer,
        ScanOptions(model_gsd_m=0.125),
        name="oblique.jpg",
    )
    nowhere = scan_frame(
        drone_jpeg(patches=((0, 0, 300, 300),), lat=None, lon=None, seed=2),
        scorer,
        ScanOptions(tile_px=128),
        name="nogps.jpg",
    )
    return [good, oblique, nowhere]


def test_geojson_is_rfc7946_and_opens_in_shapely(results, tmp_path: Path) -> None:
    from shapely.geometry import shape
    from shapely.validation import explain_validity

    write_all(results, tmp_path)
    data = json.loads((tmp_path / "detections.geojson").read_text("utf-8"))
    assert data["type"] == "FeatureCollection"
    features = data["features"]
    assert len(features) == sum(len(r.regions) for r in results)
    kinds = {f["properties"]["frame"]: f["geometry"] and f["geometry"]["type"] for f in features}
    assert kinds == {"good.jpg": "Polygon", "oblique.jpg": "Point", "nogps.jpg": None}
    for feature in features:
        geometry = feature["geometry"]
        if geometry is None:
            assert feature["properties"]["location"] == "none"
            continue
        coords = (
            [geometry["coordinates"]] if geometry["type"] == "Point" else geometry["coordinates"][0]
        )
        for lon, lat in coords:  # lon first, both in range
            assert -180 <= lon <= 180 and -90 <= lat <= 90
        if geometry["type"] == "Polygon":
            ring = geometry["coordinates"][0]
            assert ring[0] == ring[-1] and len(ring) >= 4
            area = sum(
                x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(ring, ring[1:], strict=False)
            )
            assert area > 0, "exterior ring must be counterclockwise"
            polygon = shape(geometry)
            assert polygon.is_valid, explain_validity(polygon)
            # The walk-to point lies inside the footprint (Sydney: lon 151, lat -34).
            props = feature["properties"]
            assert polygon.buffer(1e-6).contains(
                shape({"type": "Point", "coordinates": [props["lon"], props["lat"]]})
            )
            assert 151.0 < polygon.centroid.x < 151.4 and -34.0 < polygon.centroid.y < -33.8
        else:
            assert feature["properties"]["location"] == "camera"


def test_footprint_area_matches_the_pixel_box(results) -> None:
    from pyproj import Geod
    from shapely.geometry import Polygon

    good = results[0]
    region = good.suspected[0]
    gsd = good.geometry["gsd_m"]
    x0, y0, x1, y1 = region.box
    expected = (x1 - x0) * gsd * (y1 - y0) * gsd
    area, _ = Geod(ellps="WGS84").geometry_area_perimeter(Polygon(region.footprint))
    assert area == pytest.approx(expected, rel=0.01)  # counterclockwise -> positive area


def test_kml_parses_and_has_placemarks(results, tmp_path: Path) -> None:
    from defusedxml import ElementTree

    write_all(results, tmp_path)
    root = ElementTree.parse(tmp_path / "detections.kml").getroot()
    ns = {"k": "http://www.opengis.net/kml/2.2"}
    marks = root.findall(".//k:Placemark", ns)
    located = [r for r in region_rows(results) if r["lat"] is not None]
    assert len(marks) == len(located) > 0
    for mark in marks:
        lon, lat, _ = mark.find(".//k:Point/k:coordinates", ns).text.split(",")
        assert -180 <= float(lon) <= 180 and -90 <= float(lat) <= 90
    polygons = root.findall(".//k:Polygon", ns)
    assert len(polygons) == sum(1 for r in located if r["location"] == "ground")


def test_csv_and_summary(results, tmp_path: Path) -> None:
    write_all(results, tmp_path, seconds=2.0)
    with open(tmp_path / "detections.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert tuple(rows[0].keys()) == CSV_COLUMNS
    assert {r["location"] for r in rows} == {"ground", "camera", "none"}
    assert all(r["model_sha256"] for r in rows)
    summary = json.loads((tmp_path / "summary.json").read_text("utf-8"))
    assert summary["frames"] == 3 and summary["frames_with_suspected_regions"] == 3
    assert summary["regions_located"]["ground"] >= 1
    assert "frames with suspected regions: 3" in (tmp_path / "summary.txt").read_text("utf-8")


def test_a_frame_name_that_is_a_formula_or_holds_control_characters_is_neutralised(
    results, tmp_path: Path
) -> None:
    """A drone file named like a spreadsheet formula must reach Excel as text, and control
    characters in it must not make the KML unreadable (issue 12: one encoder for both)."""
    from dataclasses import replace

    from defusedxml import ElementTree

    name = '=HYPERLINK("http://evil.example","open")\x01\x0b.jpg'
    renamed = [replace(r, file=name) for r in results]
    write_all(renamed, tmp_path)
    with open(tmp_path / "detections.csv", newline="", encoding="utf-8") as handle:
        frames = {row["frame"] for row in csv.DictReader(handle)}
    assert frames == {"'" + name}
    root = ElementTree.parse(tmp_path / "detections.kml").getroot()  # well-formed
    ns = {"k": "http://www.opengis.net/kml/2.2"}
    values = [d.find("k:value", ns).text for d in root.iterfind(".//k:Data[@name='frame']", ns)]
    assert values and all(v.startswith('=HYPERLINK("http://evil') for v in values)
    assert all("\x01" not in v for v in values)
