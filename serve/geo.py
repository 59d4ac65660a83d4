"""Small geodesy for a patrol's scale (metres to kilometres), with no GIS stack.

The service installs without shapely/pyproj, so the few things it needs are here: great-
circle distance, distance from a point to a target's point or polygon (0 inside), a polygon's
centroid and bounding box, and validation of RFC 7946 geometries. Distances to polygon edges
use a local equirectangular projection, accurate to well under a metre over a few kilometres.
"""

from __future__ import annotations

import math
from typing import Any

EARTH_RADIUS_M = 6_371_008.8

Ring = list[tuple[float, float]]  # (lon, lat) pairs, RFC 7946 order


class GeometryError(ValueError):
    """A geometry that is not valid RFC 7946 for our purposes (Point / Polygon / MultiPolygon)."""


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def degrees_box(lat: float, lon: float, radius_m: float) -> tuple[float, float, float, float]:
    """(min_lat, min_lon, max_lat, max_lon) enclosing a circle: a cheap SQL pre-filter."""
    dlat = math.degrees(radius_m / EARTH_RADIUS_M)
    coslat = max(math.cos(math.radians(lat)), 1e-6)
    dlon = min(180.0, math.degrees(radius_m / (EARTH_RADIUS_M * coslat)))
    return lat - dlat, lon - dlon, lat + dlat, lon + dlon


def _position(value: Any) -> tuple[float, float]:
    if not isinstance(value, list | tuple) or len(value) not in (2, 3):
        raise GeometryError(f"a position must be [lon, lat] (or with altitude), not {value!r}")
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value):
        raise GeometryError(f"a position holds numbers, not {value!r}")
    lon, lat = float(value[0]), float(value[1])
    if not (math.isfinite(lon) and math.isfinite(lat)):
        raise GeometryError(f"position {value!r} is not finite")
    if not -180 <= lon <= 180:
        raise GeometryError(f"longitude {lon} is outside [-180, 180] (positions are [lon, lat])")
    if not -90 <= lat <= 90:
        raise GeometryError(f"latitude {lat} is outside [-90, 90] (positions are [lon, lat])")
    return lon, lat


def _ring(value: Any) -> Ring:
    if not isinstance(value, list) or len(value) < 4:
        raise GeometryError("a polygon ring needs at least 4 positions (closed)")
    ring = [_position(p) for p in value]
    if ring[0] != ring[-1]:
        raise GeometryError("a polygon ring must be closed (first position = last)")
    return ring


def normalise_geometry(geometry: Any) -> dict[str, Any]:
    """Validate a GeoJSON geometry and return it with plain float [lon, lat] positions."""
    if not isinstance(geometry, dict):
        raise GeometryError("geometry must be a GeoJSON object")
    kind = geometry.get("type")
    coords = geometry.get("coordinates")
    if kind == "Point":
        return {"type": "Point", "coordinates": list(_position(coords))}
    if kind == "Polygon":
        if not isinstance(coords, list) or not coords:
            raise GeometryError("a Polygon needs at least one ring")
        return {"type": "Polygon", "coordinates": [[list(p) for p in _ring(r)] for r in coords]}
    if kind == "MultiPolygon":
        if not isinstance(coords, list) or not coords:
            raise GeometryError("a MultiPolygon needs at least one polygon")
        polygons = []
        for polygon in coords:
            if not isinstance(polygon, list) or not polygon:
                raise GeometryError("each polygon of a MultiPolygon needs a ring")
            polygons.append([[list(p) for p in _ring(r)] for r in polygon])
        return {"type": "MultiPolygon", "coordinates": polygons}
    raise GeometryError(f"geometry type {kind!r} is not accepted (Point, Polygon, MultiPolygon)")


def _polygons(geometry: dict[str, Any]) -> list[list[Ring]]:
    if geometry["type"] == "Polygon":
        return [[[tuple(p) for p in r] for r in geometry["coordinates"]]]  # type: ignore[misc]
    if geometry["type"] == "MultiPolygon":
        return [[[tuple(p) for p in r] for r in poly] for poly in geometry["coordinates"]]  # type: ignore[misc]
    return []


def bbox(geometry: dict[str, Any]) -> tuple[float, float, float, float]:
    """(min_lat, min_lon, max_lat, max_lon)."""
    if geometry["type"] == "Point":
        lon, lat = geometry["coordinates"]
        return lat, lon, lat, lon
    points = [p for poly in _polygons(geometry) for p in poly[0]]
    lons, lats = [p[0] for p in points], [p[1] for p in points]
    return min(lats), min(lons), max(lats), max(lons)


def centroid(geometry: dict[str, Any]) -> tuple[float, float]:
    """(lat, lon): the point itself, or the area-weighted centroid of the outer rings."""
    if geometry["type"] == "Point":
        lon, lat = geometry["coordinates"]
        return lat, lon
    polygons = _polygons(geometry)
    # Shift to the first vertex: the shoelace terms of raw degrees (~100 × 25) cancel badly
    # for a plot a few metres across.
    ox, oy = polygons[0][0][0]
    total = cx = cy = 0.0
    fallback: list[tuple[float, float]] = []
    for poly in polygons:
        ring = [(x - ox, y - oy) for x, y in poly[0]]
        fallback.extend(ring[:-1])
        for (x0, y0), (x1, y1) in zip(ring, ring[1:], strict=False):
            cross = x0 * y1 - x1 * y0
            total += cross
            cx += (x0 + x1) * cross
            cy += (y0 + y1) * cross
    if abs(total) < 1e-20:  # degenerate (zero-area) polygon: mean of the vertices
        return (
            oy + sum(p[1] for p in fallback) / len(fallback),
            ox + sum(p[0] for p in fallback) / len(fallback),
        )
    return oy + cy / (3 * total), ox + cx / (3 * total)


def _inside(lon: float, lat: float, ring: Ring) -> bool:
    inside = False
    for (x0, y0), (x1, y1) in zip(ring, ring[1:], strict=False):
        if (y0 > lat) != (y1 > lat):
            x = x0 + (lat - y0) * (x1 - x0) / (y1 - y0)
            if lon < x:
                inside = not inside
    return inside


def _segment_m(lat: float, lon: float, a: tuple[float, float], b: tuple[float, float]) -> float:
    """Distance in metres from (lat, lon) to segment a-b, in a projection centred on the point."""
    k = math.radians(1) * EARTH_RADIUS_M
    coslat = math.cos(math.radians(lat))
    ax, ay = (a[0] - lon) * k * coslat, (a[1] - lat) * k
    bx, by = (b[0] - lon) * k * coslat, (b[1] - lat) * k
    dx, dy = bx - ax, by - ay
    length2 = dx * dx + dy * dy
    t = 0.0 if length2 == 0 else max(0.0, min(1.0, -(ax * dx + ay * dy) / length2))
    return math.hypot(ax + t * dx, ay + t * dy)


def distance_to_geometry_m(lat: float, lon: float, geometry: dict[str, Any]) -> float:
    """Metres from a point to a target geometry; 0 inside a polygon (outside its holes)."""
    if geometry["type"] == "Point":
        glon, glat = geometry["coordinates"]
        return haversine_m(lat, lon, glat, glon)
    best = math.inf
    for poly in _polygons(geometry):
        outer, holes = poly[0], poly[1:]
        if _inside(lon, lat, outer) and not any(_inside(lon, lat, h) for h in holes):
            return 0.0
        for ring in poly:
            for a, b in zip(ring, ring[1:], strict=False):
                best = min(best, _segment_m(lat, lon, a, b))
    return best
