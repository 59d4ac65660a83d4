"""The small geodesy the service does without a GIS stack, checked against known values."""

from __future__ import annotations

import pytest

from plantscout.serve import geo


def test_haversine_matches_a_known_distance() -> None:
    # One degree of latitude is 111.19 km on the mean-radius sphere.
    assert geo.haversine_m(25.0, 102.0, 26.0, 102.0) == pytest.approx(111_195, rel=1e-4)
    assert geo.haversine_m(40.0, -88.0, 40.0, -88.0) == 0.0


def test_distance_to_polygon_is_zero_inside_and_to_the_edge_outside() -> None:
    square = geo.normalise_geometry(
        {
            "type": "Polygon",
            "coordinates": [
                [[102.0, 25.0], [102.01, 25.0], [102.01, 25.01], [102.0, 25.01], [102.0, 25.0]]
            ],
        }
    )
    assert geo.distance_to_geometry_m(25.005, 102.005, square) == 0.0
    north = geo.distance_to_geometry_m(25.011, 102.005, square)  # 0.001° north of the edge
    assert north == pytest.approx(111.2, rel=1e-3)
    corner = geo.distance_to_geometry_m(25.011, 102.011, square)
    assert corner == pytest.approx(geo.haversine_m(25.011, 102.011, 25.01, 102.01), rel=1e-3)


def test_holes_are_outside() -> None:
    donut = geo.normalise_geometry(
        {
            "type": "Polygon",
            "coordinates": [
                [[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]],
                [[4, 4], [6, 4], [6, 6], [4, 6], [4, 4]],
            ],
        }
    )
    assert geo.distance_to_geometry_m(2, 2, donut) == 0.0
    assert geo.distance_to_geometry_m(5, 5, donut) > 100_000


def test_centroid_and_bbox_of_a_small_plot_far_from_the_origin() -> None:
    plot = {
        "type": "Polygon",
        "coordinates": [
            [[120.0, 30.0], [120.0002, 30.0], [120.0002, 30.0001], [120.0, 30.0001], [120.0, 30.0]]
        ],
    }
    lat, lon = geo.centroid(plot)
    assert lat == pytest.approx(30.00005, abs=1e-10) and lon == pytest.approx(120.0001, abs=1e-10)
    assert geo.bbox(plot) == (30.0, 120.0, 30.0001, 120.0002)


@pytest.mark.parametrize(
    ("geometry", "message"),
    [
        ({"type": "Point", "coordinates": [200, 0]}, "longitude"),
        ({"type": "Point", "coordinates": [0, 91]}, "latitude"),
        ({"type": "Point", "coordinates": ["1", 2]}, "numbers"),
        ({"type": "Point", "coordinates": [float("nan"), 2]}, "finite"),
        ({"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [0, 0]]]}, "at least 4"),
        ({"type": "GeometryCollection", "geometries": []}, "not accepted"),
        ([1, 2], "GeoJSON object"),
    ],
)
def test_invalid_geometries_say_why(geometry, message: str) -> None:
    with pytest.raises(geo.GeometryError, match=message):
        geo.normalise_geometry(geometry)


def test_degrees_box_contains_the_circle() -> None:
    min_lat, min_lon, max_lat, max_lon = geo.degrees_box(60.0, 10.0, 1000)
    assert geo.haversine_m(60.0, 10.0, max_lat, 10.0) == pytest.approx(1000, rel=1e-6)
    assert geo.haversine_m(60.0, 10.0, 60.0, max_lon) >= 999.9
    assert min_lat < 60 < max_lat and min_lon < 10 < max_lon
