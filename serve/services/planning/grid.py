"""The H3 grid over a unit, and the cells a GPS track walked.

A unit's cells are the H3 cells (at the configured resolution; 9 ≈ 0.105 km²) whose centre
lies inside its area, so units that tile a county share no cell. A unit too small to hold a
cell centre gets the cell of its representative point. Grids are cached by content (the
geometry and resolution), which makes the cache safe to share between apps.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

import h3
import numpy as np

from ...geo import haversine_m
from . import shapes

DEFAULT_RESOLUTION = 9


@dataclass(frozen=True)
class UnitGrid:
    unit: str
    resolution: int
    cells: tuple[str, ...]
    border_m: dict[str, float] = field(repr=False)  # cell -> metres from centre to the border

    @property
    def cell_set(self) -> frozenset[str]:
        return frozenset(self.cells)

    def area_km2(self) -> float:
        return sum(h3.cell_area(c, "km^2") for c in self.cells)


@lru_cache(maxsize=512)
def _grid(unit: str, geometry_json: str, radius_m: float | None, resolution: int) -> UnitGrid:
    area = shapes.area_shape(json.loads(geometry_json), radius_m)
    cells = sorted(h3.geo_to_cells(area, resolution))
    if not cells:
        point = area.representative_point()
        cells = [h3.latlng_to_cell(point.y, point.x, resolution)]
    centres = np.array([h3.cell_to_latlng(c) for c in cells], dtype=float)
    border = shapes.distance_to_border_m(area, centres[:, 0], centres[:, 1])
    return UnitGrid(
        unit=unit,
        resolution=resolution,
        cells=tuple(cells),
        border_m={c: float(d) for c, d in zip(cells, border, strict=True)},
    )


def unit_grid(
    unit: str, geometry: dict[str, Any], radius_m: float | None, resolution: int
) -> UnitGrid:
    return _grid(unit, json.dumps(geometry, sort_keys=True), radius_m, resolution)


def cell_of(lat: float, lon: float, resolution: int) -> str:
    return h3.latlng_to_cell(lat, lon, resolution)


def cell_polygon(cell: str) -> dict[str, Any]:
    """The cell as an RFC 7946 Polygon ([lon, lat], closed, counter-clockwise)."""
    ring = [[round(lon, 7), round(lat, 7)] for lat, lon in h3.cell_to_boundary(cell)]
    ring.append(ring[0])
    return {"type": "Polygon", "coordinates": [ring]}


def cell_centre(cell: str) -> tuple[float, float]:
    return h3.cell_to_latlng(cell)


def cell_area_km2(cell: str) -> float:
    return h3.cell_area(cell, "km^2")


def is_cell(value: str) -> bool:
    try:
        return h3.is_valid_cell(value)
    except (TypeError, ValueError):
        return False


def ring(cell: str, k: int) -> Sequence[str]:
    return h3.grid_disk(cell, k) if k else [cell]


def rings(cell: str, k: int) -> list[tuple[int, str]]:
    """(distance, cell) for the cell and its neighbours up to ``k`` rings out."""
    out = [(0, cell)]
    for d in range(1, k + 1):
        out.extend((d, c) for c in h3.grid_ring(cell, d))
    return out


@dataclass(frozen=True)
class TrackPoint:
    lat: float
    lon: float
    at: datetime
    accuracy_m: float | None


def walked_cells(
    points: Iterable[TrackPoint],
    resolution: int,
    *,
    max_accuracy_m: float,
    max_gap_s: float = 120.0,
    max_step_m: float = 400.0,
) -> dict[str, tuple[datetime, datetime]]:
    """Cells the track passed through: each usable fix's cell, and the cells on the straight
    path between two fixes taken close together in time and space (a walker between fixes
    crosses the cells between them). Fixes less accurate than ``max_accuracy_m`` are ignored.

    Returns cell -> (first time, last time).
    """
    seen: dict[str, tuple[datetime, datetime]] = {}

    def mark(cell: str, at: datetime) -> None:
        first, last = seen.get(cell, (at, at))
        seen[cell] = (min(first, at), max(last, at))

    previous: tuple[TrackPoint, str] | None = None
    for point in points:
        if point.accuracy_m is not None and point.accuracy_m > max_accuracy_m:
            continue
        cell = h3.latlng_to_cell(point.lat, point.lon, resolution)
        mark(cell, point.at)
        if previous is not None and previous[1] != cell:
            before, before_cell = previous
            gap = (point.at - before.at).total_seconds()
            step = haversine_m(before.lat, before.lon, point.lat, point.lon)
            if 0 <= gap <= max_gap_s and step <= max_step_m:
                try:
                    for between in h3.grid_path_cells(before_cell, cell):
                        mark(between, point.at)
                except h3.H3BaseException:  # pragma: no cover - across a pentagon
                    pass
        previous = (point, cell)
    return seen


def track_length_m(points: Sequence[TrackPoint]) -> float:
    return sum(
        haversine_m(a.lat, a.lon, b.lat, b.lon) for a, b in zip(points, points[1:], strict=False)
    )


def cells_within(lat: float, lon: float, radius_m: float, resolution: int) -> list[str]:
    """Cells whose centre is within ``radius_m`` of a point (at least the point's own cell)."""
    centre = h3.latlng_to_cell(lat, lon, resolution)
    edge = h3.average_hexagon_edge_length(resolution, "m")
    k = max(1, math.ceil(radius_m / (edge * 1.5)) + 1)
    out = [
        c
        for c in h3.grid_disk(centre, k)
        if haversine_m(lat, lon, *h3.cell_to_latlng(c)) <= radius_m
    ]
    return out or [centre]
