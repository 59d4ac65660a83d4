"""Per-resolution tile numbers for a multi-resolution card (training/tiles_report.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from plantscout.datasets import Record
from plantscout.training.evaluate import Scored
from plantscout.training.tiles_report import per_resolution


def _tile(label: str, gsd: float, parent: str, scene: str = "") -> Record:
    return Record(
        path=Path(f"/t/{label}-{gsd}-{parent}.jpg"), label=label, kind="drone_tile",
        gsd_m=gsd, parent=parent, scene=scene, group=f"g-{label}",
    )  # fmt: skip


def test_counts_per_resolution_with_frames_and_composites() -> None:
    records = [
        _tile("cannabis", 0.01, "a"),
        _tile("cannabis", 0.01, "a"),
        _tile("cannabis", 0.01, "b"),
        _tile("cannabis", 0.04, "a;b;c", "composite"),
        _tile("background", 0.04, "x"),
        _tile("background", 0.04, "y"),
        Record(path=Path("/p.jpg"), label="cannabis"),  # a photo: not a tile
    ]
    levels = ["alert", "review", None, "alert", "review", None, "alert"]
    scored = Scored(
        records=records, labels=("cannabis", "background"), targets=np.zeros(7, np.int64),
        probs=np.zeros((7, 2)), logits=np.zeros((7, 2)), verdicts=[""] * 7,
        levels={"cannabis": levels}, temperature=1.0,
    )  # fmt: skip
    fine, coarse = per_resolution(scored)
    assert fine["gsd_m"] == 0.01 and "background_tiles" not in fine
    assert fine["cannabis_tiles"]["n"] == 3 and fine["cannabis_tiles"]["frames"] == 2
    assert fine["cannabis_tiles"]["at_alert"] == {"count": 1, "rate": 0.3333}
    assert fine["cannabis_tiles"]["at_review_or_alert"]["count"] == 2
    assert coarse["cannabis_tiles"]["composite"] == 1 and coarse["cannabis_tiles"]["frames"] == 3
    assert coarse["background_tiles"]["at_review_or_alert"] == {"count": 1, "rate": 0.5}


def test_multi_resolution_tiles_section_is_read_by_the_scanner() -> None:
    from plantscout.drone.resolution import card_resolutions, fine_gsd, scan_limit
    from plantscout.training.export import _tiles_section

    assert _tiles_section([], 224) is None
    single = card_resolutions({"tiles": _tiles_section([0.01], 224)})
    assert single.served == (0.01,) and not single.multi and single.max_gsd_m is None
    multi = card_resolutions({"tiles": _tiles_section([0.01, 0.02, 0.04], 224)})
    assert multi.served == (0.01, 0.02, 0.04) and multi.max_gsd_m == 0.04
    assert fine_gsd(0.025, multi, None) == 0.04 and fine_gsd(0.015, multi, None) == 0.02
    assert scan_limit(multi, None, 3.0) == 0.04  # coarser than the coarsest served: refused
