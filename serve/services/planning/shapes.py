"""Unit boundaries as shapely geometries: validity, containment and distances in metres.

shapely (GEOS) is a dependency of the service for this: checking that a boundary does not
cross itself, that two units do not overlap, and measuring how far a cell is from a border
are what GEOS is built for, and hand-written versions of them are where bugs hide. Positions
stay WGS 84 [lon, lat]; distances and areas go through a local equirectangular projection
centred on the geometry, accurate to well under 1 % across a county.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from shapely.geometry import Point, shape
from shapely.geometry.base import BaseGeometry

from ...geo import EARTH_RADIUS_M, GeometryError, normalise_geometry

_M_PER_DEG = math.radians(1) * EARTH_RADIUS_M
CIRCLE_SEGMENTS = 16  # per quarter circle, for a point-and-radius village


@dataclass(frozen=True)
class LocalProjection:
    """Equirectangular metres around (lat0, lon0): x east, y north."""

    lat0: float
    lon0: float

    @property
    def kx(self) -> float:
        return _M_PER_DEG * math.cos(math.radians(self.lat0))

    def forward(self, geometry: BaseGeometry) -> BaseGeometry:
        kx = self.kx
        return shapely.transform(
            geometry,
            lambda c: np.column_stack(
                ((c[:, 0] - self.lon0) * kx, (c[:, 1] - self.lat0) * _M_PER_DEG)
            ),
        )

    def inverse(self, geometry: BaseGeometry) -> BaseGeometry:
        kx = self.kx
        return shapely.transform(
            geometry,
            lambda c: np.column_stack((c[:, 0] / kx + self.lon0, c[:, 1] / _M_PER_DEG + self.lat0)),
        )

    def xy(self, lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return (np.asarray(lon) - self.lon0) * self.kx, (np.asarray(lat) - self.lat0) * _M_PER_DEG


def projection_for(geometry: BaseGeometry) -> LocalProjection:
    centre = geometry.centroid
    return LocalProjection(lat0=centre.y, lon0=centre.x)


def validate_area(geometry: Any) -> dict[str, Any]:
    """A Polygon / MultiPolygon that encloses an area and does not cross itself, normalised.

    Raises ``GeometryError`` with GEOS's reason and where, e.g. "Self-intersection at
    100.8105, 22.0101".
    """
    normal = normalise_geometry(geometry)
    if normal["type"] == "Point":
        raise GeometryError("a boundary must be a Polygon or MultiPolygon (a point needs radius_m)")
    geom = shape(normal)
    if not geom.is_valid:
        reason = shapely.is_valid_reason(geom)
        text, _, where = reason.partition("[")
        at = where.rstrip("]").split()
        place = f" at {float(at[0]):.6f}, {float(at[1]):.6f} (lon, lat)" if len(at) >= 2 else ""
        raise GeometryError(f"the boundary is not a valid polygon: {text.strip()}{place}")
    if projection_for(geom).forward(geom).area < 1.0:
        raise GeometryError("the boundary encloses no area")
    return normal


def area_shape(geometry: dict[str, Any], radius_m: float | None = None) -> BaseGeometry:
    """The area a unit stands for: its polygon, or a circle of ``radius_m`` round its point."""
    geom = shape(geometry)
    if isinstance(geom, Point):
        if not radius_m or radius_m <= 0:
            raise GeometryError("a point unit needs a positive radius_m")
        projection = LocalProjection(lat0=geom.y, lon0=geom.x)
        circle = Point(0.0, 0.0).buffer(radius_m, quad_segs=CIRCLE_SEGMENTS)
        return projection.inverse(circle)
    return geom


def area_m2(geom: BaseGeometry) -> float:
    return float(projection_for(geom).forward(geom).area)


def overlap_share(a: BaseGeometry, b: BaseGeometry) -> float:
    """Area of a ∩ b as a share of the smaller of the two (0 when they only touch)."""
    projection = projection_for(a)
    pa, pb = projection.forward(a), projection.forward(b)
    if not pa.intersects(pb):
        return 0.0
    smaller = min(pa.area, pb.area)
    return float(pa.intersection(pb).area / smaller) if smaller > 0 else 0.0


def contains(geom: BaseGeometry, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Which (lat, lon) points lie inside (or on the border of) ``geom``."""
    shapely.prepare(geom)
    return shapely.intersects_xy(geom, np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))


def distance_to_border_m(geom: BaseGeometry, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Metres from each point to the nearest border of ``geom`` (inside or outside)."""
    projection = projection_for(geom)
    border = projection.forward(geom).boundary
    x, y = projection.xy(lat, lon)
    return shapely.distance(border, shapely.points(x, y))


def distance_m(geom: BaseGeometry, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Metres from each point to ``geom`` (0 inside a polygon)."""
    projection = projection_for(geom)
    x, y = projection.xy(lat, lon)
    return shapely.distance(projection.forward(geom), shapely.points(x, y))
