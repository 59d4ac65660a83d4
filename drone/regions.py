"""Tile scores -> a per-frame heatmap -> suspected regions (connected flagged tiles).

A plant field spans many tiles; reporting each tile would bury the patrol in duplicates.
Tiles raised to a level (``review`` or ``alert`` by the bundle's thresholds) are grouped with
their 8-connected neighbours on the tile grid, per species. Each region keeps its peak and
mean score, its pixel box (the union of its tiles) and a score-weighted centre: the point to
walk to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from plantscout.drone.tiling import TilePlan

LEVEL_NONE, LEVEL_REVIEW, LEVEL_ALERT = 0, 1, 2
LEVEL_NAMES = {LEVEL_REVIEW: "review", LEVEL_ALERT: "alert"}


@dataclass
class Heatmap:
    """One species' tile scores on the plan's grid. NaN marks a tile that was not scored."""

    species: str
    values: np.ndarray  # (rows, cols) float32
    levels: np.ndarray  # (rows, cols) int8: 0 none, 1 review, 2 alert
    trained: bool = True  # False: a stand-in label's probability (e.g. poppy-family flowers)

    @classmethod
    def empty(cls, species: str, rows: int, cols: int, trained: bool = True) -> Heatmap:
        return cls(
            species,
            np.full((rows, cols), np.nan, np.float32),
            np.zeros((rows, cols), np.int8),
            trained,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "species": self.species,
            "trained": self.trained,
            "values": [
                [None if np.isnan(v) else round(float(v), 4) for v in row] for row in self.values
            ],
            "levels": self.levels.astype(int).tolist(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Heatmap:
        values = np.array(
            [[np.nan if v is None else v for v in row] for row in data["values"]], np.float32
        )
        return cls(
            data["species"], values, np.array(data["levels"], np.int8), data.get("trained", True)
        )


@dataclass
class Region:
    """Connected tiles of one species at review level or above."""

    species: str
    level: str  # "alert" if any tile reached alert, else "review"
    peak: float
    mean: float
    tiles: int
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 in original-frame pixels
    centre: tuple[float, float]  # score-weighted centre of its tiles, original pixels
    cells: list[tuple[int, int]] = field(default_factory=list)  # (row, col) on the grid
    trained: bool = True
    ground: dict[str, Any] | None = None  # {lat, lon, error_m} when the geometry allows
    footprint: list[tuple[float, float]] | None = None  # closed (lon, lat) ring

    def as_dict(self) -> dict[str, Any]:
        return {
            "species": self.species,
            "level": self.level,
            "peak": round(self.peak, 4),
            "mean": round(self.mean, 4),
            "tiles": self.tiles,
            "box": list(self.box),
            "centre": [round(self.centre[0], 1), round(self.centre[1], 1)],
            "cells": [list(c) for c in self.cells],
            "trained": self.trained,
            "ground": self.ground,
            "footprint": [list(p) for p in self.footprint] if self.footprint else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Region:
        return cls(
            species=data["species"],
            level=data["level"],
            peak=float(data["peak"]),
            mean=float(data["mean"]),
            tiles=int(data["tiles"]),
            box=tuple(data["box"]),  # type: ignore[arg-type]
            centre=(float(data["centre"][0]), float(data["centre"][1])),
            cells=[(int(r), int(c)) for r, c in data.get("cells", [])],
            trained=data.get("trained", True),
            ground=data.get("ground"),
            footprint=[(float(x), float(y)) for x, y in data["footprint"]]
            if data.get("footprint")
            else None,
        )


def find_regions(heatmap: Heatmap, plan: TilePlan) -> list[Region]:
    """Group flagged tiles into 8-connected regions, strongest first."""
    flagged = heatmap.levels >= LEVEL_REVIEW
    seen = np.zeros_like(flagged)
    regions: list[Region] = []
    rows, cols = flagged.shape
    for r0 in range(rows):
        for c0 in range(cols):
            if not flagged[r0, c0] or seen[r0, c0]:
                continue
            stack, cells = [(r0, c0)], []
            seen[r0, c0] = True
            while stack:
                r, c = stack.pop()
                cells.append((r, c))
                for dr in (-1, 0, 1):
                    for dc in (-1, 0, 1):
                        rr, cc = r + dr, c + dc
                        if (
                            0 <= rr < rows
                            and 0 <= cc < cols
                            and flagged[rr, cc]
                            and not seen[rr, cc]
                        ):
                            seen[rr, cc] = True
                            stack.append((rr, cc))
            regions.append(_region(heatmap, plan, sorted(cells)))
    regions.sort(key=lambda g: (-LEVEL_ORDER[g.level], -g.peak))
    return regions


LEVEL_ORDER = {"alert": 2, "review": 1}


def _region(heatmap: Heatmap, plan: TilePlan, cells: list[tuple[int, int]]) -> Region:
    values = np.array([heatmap.values[r, c] for r, c in cells], np.float64)
    levels = [int(heatmap.levels[r, c]) for r, c in cells]
    x0 = min(plan.xs[c] for _, c in cells)
    y0 = min(plan.ys[r] for r, _ in cells)
    x1 = max(plan.xs[c] for _, c in cells) + plan.tile_px
    y1 = max(plan.ys[r] for r, _ in cells) + plan.tile_px
    half = plan.tile_px / 2.0
    cx = np.array([plan.xs[c] + half for _, c in cells])
    cy = np.array([plan.ys[r] + half for r, _ in cells])
    weights = np.nan_to_num(values, nan=0.0) + 1e-9
    return Region(
        species=heatmap.species,
        level=LEVEL_NAMES[max(levels)],
        peak=float(np.nanmax(values)),
        mean=float(np.nanmean(values)),
        tiles=len(cells),
        box=(int(x0), int(y0), int(min(x1, plan.width)), int(min(y1, plan.height))),
        centre=(
            float((cx * weights).sum() / weights.sum()),
            float((cy * weights).sum() / weights.sum()),
        ),
        cells=cells,
        trained=heatmap.trained,
    )
