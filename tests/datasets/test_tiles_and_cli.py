"""Drone tiles at one ground resolution, and the build / stats commands end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from click.testing import CliRunner
from PIL import Image

from plantscout.datasets import Record, read_records
from plantscout.datasets.cli import app
from plantscout.datasets.tiles import TileSpec, tile_frame, vegetation_fraction

REPO = Path(__file__).resolve().parents[2]


def _hemp_frame(rows) -> Record:
    row = next(r for r in rows if r["kind"] == "drone_frame" and r["label"] == "cannabis")
    return row


def test_hemp_frame_tiles_at_target_resolution(tmp_path: Path, plants_v1, plants_manifest_rows):
    row = _hemp_frame(plants_manifest_rows)
    frame = Record(
        path=plants_v1 / row["path"],
        label="cannabis",
        group=row["group"],
        kind="drone_frame",
        gsd_m=0.005,
    )
    tiles, reason = tile_frame(frame, TileSpec(gsd_m=0.01, size_px=224), tmp_path)
    assert reason is None
    # 1600×900 px at 5 mm/px = 800×450 px at 1 cm/px: 4 × 2 tiles side by side.
    assert len(tiles) == 8
    for tile in tiles:
        assert tile.kind == "drone_tile" and tile.gsd_m == 0.01 and tile.group == frame.group
        with Image.open(tile.path) as image:
            assert image.size == (224, 224)
        x, y, w, h = map(int, tile.crop.split(","))
        assert w == h == 448 and 0 <= x <= 1600 - 448 and 0 <= y <= 900 - 448


def test_coarse_or_unknown_frames_are_not_tiled(tmp_path: Path, plants_v1, plants_manifest_rows):
    row = next(r for r in plants_manifest_rows if r["group"] == "odm-flight")
    frame = Record(path=plants_v1 / row["path"], label="background", kind="drone_frame")
    tiles, reason = tile_frame(frame.with_(gsd_m=0.13), TileSpec(), tmp_path)
    assert tiles == [] and "coarser" in reason
    tiles, reason = tile_frame(frame, TileSpec(), tmp_path)
    assert tiles == [] and "unknown" in reason


def test_soil_tiles_of_a_plant_label_are_dropped(tmp_path: Path) -> None:
    soil = np.zeros((448, 448, 3), np.uint8)
    soil[...] = (120, 95, 70)
    soil[:, 224:] = (40, 150, 40)  # right half is green canopy
    path = tmp_path / "frame.png"
    Image.fromarray(soil).save(path)
    frame = Record(path=path, label="cannabis", kind="drone_frame", gsd_m=0.01)
    tiles, _ = tile_frame(frame, TileSpec(gsd_m=0.01, size_px=224), tmp_path / "t")
    assert [t.crop.split(",")[0] for t in tiles] == ["224", "224"]  # only the green column
    assert vegetation_fraction(soil[:, :224]) == 0.0


def test_build_and_stats_commands(tmp_path: Path, tiny_source: Path) -> None:
    out = tmp_path / "built"
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "build",
            "--manifest",
            str(tiny_source),
            "--sources",
            str(REPO / "datasets" / "sources" / "plants-v1.toml"),
            "--out",
            str(out),
            "--seed",
            "1",
            "--workers",
            "1",
        ],
    )
    assert result.exit_code == 0, result.output
    records = read_records(out / "manifest.csv")
    assert {r.split for r in records} == {"train", "val", "test"}
    tiles = [r for r in records if r.kind == "drone_tile"]
    assert len(tiles) == 8 and {r.split for r in tiles} == {"train"}
    info = json.loads((out / "dataset.json").read_text("utf-8"))
    assert info["seed"] == 1 and len(info["manifest_hash"]) == 64
    assert "hemp-TrainingImages" not in info["undescribed_sources"]
    assert info["undescribed_sources"] == []

    again = runner.invoke(
        app,
        [
            "build",
            "--manifest",
            str(tiny_source),
            "--sources",
            str(REPO / "datasets" / "sources" / "plants-v1.toml"),
            "--out",
            str(tmp_path / "b2"),
            "--seed",
            "1",
            "--workers",
            "2",
        ],
    )
    assert again.exit_code == 0
    info2 = json.loads((tmp_path / "b2" / "dataset.json").read_text("utf-8"))
    assert info2["manifest_hash"] == info["manifest_hash"]  # reproducible from the seed

    stats = runner.invoke(app, ["stats", str(out), "--json"])
    assert stats.exit_code == 0, stats.output
    data = json.loads(stats.output)
    assert data["images"] == len(records)
    assert data["by_label"]["cannabis"]["train"] >= 8
    assert "cannabis / Vik99-wq/Hemp-Remote-Sensing" in data["strata_missing_from_test"]
    text = runner.invoke(app, ["stats", str(out)])
    assert "not in test" in text.output and "groups per label" in text.output


def test_build_requires_an_input(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["build", "--out", str(tmp_path / "x")])
    assert result.exit_code != 0 and "--manifest or --folder" in result.output
