"""Drone-tile numbers per ground resolution, for the card of a multi-resolution tile model.

A tile model trained at 1–5 cm/px is only as good as its worst resolution a frame will be
scanned at, so the card reports each resolution apart: cannabis tiles found at the alert and
review thresholds, drone background tiles raised to alert or review, with counts, and how
many frames (parents) they come from — 48 tiles of 6 frames are not 48 independent samples,
and a composite tile (several frames laid side by side, where one frame is smaller than a
tile) is counted as such.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from .evaluate import Scored


def per_resolution(scored: Scored, species: str = "cannabis") -> list[dict[str, Any]]:
    """One entry per tile resolution present in ``scored`` (tiles only), finest first."""
    levels = scored.levels.get(species)
    if levels is None:
        return []
    groups: dict[float, list[int]] = defaultdict(list)
    for i, record in enumerate(scored.records):
        if record.is_tile and record.gsd_m:
            groups[float(record.gsd_m)].append(i)
    out = []
    for gsd, members in sorted(groups.items()):
        entry: dict[str, Any] = {"gsd_m": gsd}
        positives = [i for i in members if scored.records[i].label == species]
        negatives = [i for i in members if scored.records[i].label != species]
        if positives:
            entry["cannabis_tiles"] = _found(scored, levels, positives)
        if negatives:
            entry["background_tiles"] = _found(scored, levels, negatives)
        out.append(entry)
    return out


def _found(scored: Scored, levels: list[str | None], members: list[int]) -> dict[str, Any]:
    alert = sum(1 for i in members if levels[i] == "alert")
    review = sum(1 for i in members if levels[i] in ("alert", "review"))
    frames = {p for i in members for p in scored.records[i].parent.split(";") if p}
    return {
        "n": len(members),
        "frames": len(frames),
        "composite": sum(1 for i in members if scored.records[i].scene == "composite"),
        "groups": sorted({scored.records[i].group for i in members}),
        "at_alert": {"count": alert, "rate": round(alert / len(members), 4)},
        "at_review_or_alert": {"count": review, "rate": round(review / len(members), 4)},
    }
