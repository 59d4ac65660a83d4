"""Multi-resolution drone tiles and their hold-outs (datasets/drone_tiles.py, issue 16).

Synthetic frames stand in for the flights: the rules under test are which frames go to which
split (a flight held out whole when a label has several; contiguous capture-order blocks with
a buffer when it has one), which resolutions a frame can give without enlarging it too much,
and composites where a frame is smaller than a tile.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from plantscout.datasets import Record
from plantscout.datasets.drone_tiles import (
    MultiResSpec,
    assign_blocks,
    build_drone_tiles,
    flight_of,
)


def _frame(folder: Path, name: str, label: str, group: str, gsd: float, size=(800, 450)) -> Record:
    rng = np.random.default_rng(abs(hash(name)) % 2**32)
    pixels = np.empty((size[1], size[0], 3), np.uint8)
    pixels[:] = (40, 170, 50) if label == "cannabis" else (120, 110, 100)
    pixels = np.clip(pixels + rng.integers(-20, 20, pixels.shape), 0, 255).astype(np.uint8)
    path = folder / group / name
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path, quality=90)
    return Record(
        path=path, label=label, group=group, source=f"src/{group}", kind="drone_frame",
        view="aerial", width=size[0], height=size[1], gsd_m=gsd, source_path=f"images/{name}",
    )  # fmt: skip


def _flights(tmp_path: Path) -> list[Record]:
    hemp = [_frame(tmp_path, f"DJI_{i:04d}.jpg", "cannabis", "hemp", 0.005) for i in range(12)]
    odm = [
        _frame(tmp_path, f"DJI_{i:04d}.jpg", "background", "odm", 0.13, (400, 300))
        for i in range(6)
    ] + [
        _frame(tmp_path, f"1JI_{i:04d}.jpg", "background", "odm", 0.13, (400, 300))
        for i in range(3)
    ]
    return hemp + odm


def test_one_flight_is_split_in_capture_order_blocks_several_hold_one_out_whole(
    tmp_path: Path,
) -> None:
    frames = _flights(tmp_path)
    assert flight_of(frames[0]) == "hemp:DJI" and flight_of(frames[-1]) == "odm:1JI"
    blocks, report = assign_blocks(frames, MultiResSpec(buffer_frames=1))
    names = {s: [Path(r.path).name for r in blocks[s] if r.label == "cannabis"] for s in blocks}
    # 12 frames, 2 buffers dropped: 6 / 2 / 2, in order, never adjacent across a split.
    assert names["train"] == [f"DJI_{i:04d}.jpg" for i in range(6)]
    assert names["val"] == ["DJI_0007.jpg", "DJI_0008.jpg"]
    assert names["test"] == ["DJI_0010.jpg", "DJI_0011.jpg"]
    assert report["hemp:DJI"]["buffer_dropped"] == 2
    # Background: the smaller flight (1JI, 3 frames) is the test set, whole.
    test_bg = [r for r in blocks["test"] if r.label == "background"]
    assert {r.group for r in test_bg} == {"odm:1JI#test"} and len(test_bg) == 3
    assert {r.group for s in ("train", "val") for r in blocks[s] if r.label == "background"} == {
        "odm:DJI#train",
        "odm:DJI#val",
    }
    groups = {s: {r.group for r in blocks[s]} for s in blocks}
    assert not (groups["train"] & groups["val"]) and not (groups["val"] & groups["test"])


def test_tiles_per_resolution_composites_and_refusals(tmp_path: Path) -> None:
    spec = MultiResSpec(gsds_m=(0.01, 0.03, 0.05), max_upsample=3.0, buffer_frames=1)
    manifest, info = build_drone_tiles(_flights(tmp_path / "in"), tmp_path / "out", spec=spec)
    counts = info["drone"]["counts"]
    # 800x450 px at 5 mm/px: 1 cm/px gives whole-frame tiles; 3 and 5 cm/px frames are smaller
    # than a tile: composites of the block's frames.
    assert counts["train|cannabis|1cm|capture-order block"] > 0
    assert counts["train|cannabis|3cm|composite"] > 0
    assert "train|cannabis|5cm|composite" in counts or any(
        s["gsd_m"] == 0.05 for s in info["drone"]["skipped"]
    )
    # 13 cm/px background: only 5 cm/px needs ≤ ×3 enlargement (×2.6).
    assert not any(k.startswith(("train|background|1cm", "train|background|3cm")) for k in counts)
    assert counts["test|background|5cm|held-out flight"] > 0
    reasons = {s["reason"] for s in info["drone"]["skipped"] if s["gsd_m"] == 0.01}
    assert any("enlarged ×13.0" in r for r in reasons)
    from plantscout.datasets import read_records

    rows = read_records(manifest)
    assert {r.kind for r in rows} == {"drone_tile"} and all(r.width == 224 for r in rows)
    composite = next(r for r in rows if r.scene == "composite")
    assert composite.parent.count(";") >= 1 and composite.crop.startswith("composite:")
    assert all(Image.open(r.path).size == (224, 224) for r in rows[:20])
