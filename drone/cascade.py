"""Coarse-to-fine scanning: look at the whole frame coarsely, closely only where it matters.

Most of a survey frame is roads, roofs, crops and woods; a full scan at the model's finest
resolution spends almost all its time there. A cascade scores the whole frame first at a
coarse resolution (4–5 cm/px tiles cover 16–25 × the ground of 1 cm/px ones, and a JPEG is
decoded at 1/4 or 1/8 of its size for them), then scores at the fine resolution only the
fine tiles that overlap a coarse tile whose controlled-species score reached the cascade
threshold. Everything the fine pass finds is reported exactly as a full scan reports it
(same grid, same scores, same regions); fine tiles never looked at stay unscored (NaN in the
heatmap). The threshold comes from the card (``tiles.cascade.thresholds``), chosen so that
every alert-level fine tile of the calibration frames lies under a coarse tile at or above it
(``benchmarks/drone_cascade.py`` measures what that buys and what it misses).

When a cascade cannot save anything (no coarse resolution at least 1.5× the fine one, no
threshold in the card, no ground resolution for the frame) the frame is scanned in full and
a note says why.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from plantscout.drone.frames import FrameReader
from plantscout.drone.regions import Region
from plantscout.drone.resolution import card_resolutions, coarse_gsd
from plantscout.drone.scan import (
    FrameResult,
    ScanOptions,
    empty_heatmaps,
    finalize,
    score_tiles_into,
)
from plantscout.drone.tiling import TilePlan, plan_tiles
from plantscout.model.scorer import Scorer


def cascade_pass(
    result: FrameResult,
    reader: FrameReader,
    plan: TilePlan,
    scorer: Scorer,
    options: ScanOptions,
    place: Callable[[Region], None],
) -> bool:
    """Scan ``result``'s frame coarse-to-fine; False (with a note) to scan it in full."""
    if plan.basis != "gsd" or plan.model_gsd_m is None or plan.frame_gsd_m is None:
        result.notes.append("cascade needs the frame's ground resolution: scanned in full")
        return False
    res = card_resolutions(scorer.card.extra)
    coarse, threshold, why = coarse_gsd(
        plan.model_gsd_m, res, options.coarse_gsd_m, options.cascade_threshold
    )
    if coarse is None or threshold is None:
        result.notes.append(f"cascade not used: {why}; scanned in full")
        return False
    coarse_plan = plan_tiles(
        reader.width,
        reader.height,
        plan.input_size,
        frame_gsd_m=plan.frame_gsd_m,
        model_gsd_m=coarse,
        overlap=options.overlap,
        max_tiles=options.max_tiles,
    )
    coarse_maps = empty_heatmaps(scorer, coarse_plan)
    info = reader.start(coarse_plan)
    coarse_scored = score_tiles_into(
        reader.tiles(coarse_plan, info), scorer, coarse_maps, options.batch_size
    )
    result.preview = info.preview
    result.notes.extend(info.notes)
    wanted = fine_cells(plan, coarse_plan, hot_cells(coarse_maps.values(), threshold))
    heatmaps = empty_heatmaps(scorer, plan)
    fine_scored = 0
    if wanted:
        fine_info = reader.start(plan)
        fine_scored = score_tiles_into(
            reader.tiles(plan, fine_info, only=wanted), scorer, heatmaps, options.batch_size
        )
        result.notes.extend(n for n in fine_info.notes if n not in result.notes)
    finalize(result, heatmaps, plan, coarse_scored + fine_scored, place)
    if fine_scored == 0 and coarse_scored:
        result.notes.append(
            "cascade: no coarse tile reached the threshold; nothing was scored at full resolution"
        )
    result.plan["cascade"] = {
        "coarse_gsd_m": coarse,
        "threshold": threshold,
        "coarse_tile_px": coarse_plan.tile_px,
        "coarse_tiles": coarse_plan.count,
        "coarse_scored": coarse_scored,
        "fine_tiles": plan.count,
        "fine_scored": fine_scored,
    }
    return True


def hot_cells(maps, threshold: float) -> np.ndarray:  # noqa: ANN001 - Iterable[Heatmap]
    """Coarse tiles worth a closer look: any controlled species at or above ``threshold``.

    A coarse tile that could not be scored (a truncated frame) is looked at too: unknown is
    not clear.
    """
    hot: np.ndarray | None = None
    for heatmap in maps:
        values = heatmap.values
        mask = np.isnan(values) | (np.nan_to_num(values, nan=1.0) >= threshold)
        hot = mask if hot is None else (hot | mask)
    return hot if hot is not None else np.zeros((0, 0), bool)


def fine_cells(fine: TilePlan, coarse: TilePlan, hot: np.ndarray) -> set[tuple[int, int]]:
    """Fine tiles that overlap (by any area) a hot coarse tile."""
    if hot.size == 0 or not hot.any():
        return set()
    rows, cols = np.nonzero(hot)
    cx0 = np.array([coarse.xs[c] for c in cols])[None, :]
    cy0 = np.array([coarse.ys[r] for r in rows])[None, :]
    cx1, cy1 = cx0 + coarse.tile_px, cy0 + coarse.tile_px
    boxes = fine.boxes()
    fx0 = np.array([b.x0 for b in boxes])[:, None]
    fy0 = np.array([b.y0 for b in boxes])[:, None]
    fx1, fy1 = fx0 + fine.tile_px, fy0 + fine.tile_px
    overlap = (fx0 < cx1) & (cx0 < fx1) & (fy0 < cy1) & (cy0 < fy1)
    keep = overlap.any(axis=1)
    return {(b.row, b.col) for b, k in zip(boxes, keep, strict=True) if k}


def coarse_values(
    source: str | bytes,
    scorer: Scorer,
    *,
    frame_gsd_m: float,
    coarse_gsd_m: float,
    overlap: float = 0.25,
) -> tuple[TilePlan, np.ndarray]:
    """A coarse pass alone: its plan and, per coarse tile, the highest controlled score."""
    reader = FrameReader(source, limits=scorer.limits)
    plan = plan_tiles(
        reader.width,
        reader.height,
        scorer.card.preprocessing.input_size,
        frame_gsd_m=frame_gsd_m,
        model_gsd_m=coarse_gsd_m,
        overlap=overlap,
    )
    maps = empty_heatmaps(scorer, plan)
    info = reader.start(plan)
    score_tiles_into(reader.tiles(plan, info), scorer, maps, 16)
    values = np.stack([np.nan_to_num(m.values, nan=1.0) for m in maps.values()]).max(axis=0)
    return plan, values


def alert_cover(result: FrameResult, coarse: TilePlan, values: np.ndarray) -> list[float]:
    """For each alert-level fine tile of a *full* scan, the highest coarse score over it:
    a cascade threshold at or below every one of these finds every alert tile again."""
    fine = TilePlan(**{k: v for k, v in _plan_fields(result.plan).items()})
    boxes = {(b.row, b.col): b for b in fine.boxes()}
    cover: list[float] = []
    for heatmap in result.heatmaps:
        for row, col in zip(*np.nonzero(heatmap.levels >= 2), strict=True):
            box = boxes[(int(row), int(col))]
            best = 0.0
            for r, y in enumerate(coarse.ys):
                for c, x in enumerate(coarse.xs):
                    if (
                        box.x0 < x + coarse.tile_px
                        and x < box.x1
                        and box.y0 < y + coarse.tile_px
                        and y < box.y1
                    ):
                        best = max(best, float(values[r, c]))
            cover.append(best)
    return cover


def _plan_fields(plan: dict) -> dict:
    """A TilePlan back from a result's stored plan (positions rebuilt from sizes)."""
    from plantscout.drone.tiling import positions

    tile, stride = int(plan["tile_px"]), int(plan["stride_px"])
    return {
        "width": int(plan["width"]),
        "height": int(plan["height"]),
        "tile_px": tile,
        "stride_px": stride,
        "xs": positions(int(plan["width"]), tile, stride),
        "ys": positions(int(plan["height"]), tile, stride),
        "input_size": int(plan["input_size"]),
        "basis": plan["basis"],
        "frame_gsd_m": plan.get("frame_gsd_m"),
        "model_gsd_m": plan.get("model_gsd_m"),
    }
