"""Tile plans cover the frame, respect ground resolution, and stay within bounds."""

from __future__ import annotations

import pytest

from plantscout.drone.tiling import plan_tiles, positions


@pytest.mark.parametrize(
    "length,tile,stride", [(1000, 224, 168), (224, 224, 168), (225, 224, 1), (5472, 448, 336)]
)
def test_positions_cover_everything_and_end_flush(length: int, tile: int, stride: int) -> None:
    starts = positions(length, tile, stride)
    assert starts[0] == 0 and starts[-1] + tile == length
    assert all(b - a <= stride for a, b in zip(starts, starts[1:], strict=False))
    covered = set()
    for s in starts:
        covered.update(range(s, s + tile))
    assert covered == set(range(length))


def test_tiles_span_the_model_ground_footprint() -> None:
    # 2 cm/px frame, model trained at 1 cm per input pixel, 224 input: 2.24 m tiles = 112 px
    plan = plan_tiles(4000, 3000, 224, frame_gsd_m=0.02, model_gsd_m=0.01)
    assert plan.basis == "gsd" and plan.tile_px == 112
    assert plan.tile_ground_m == pytest.approx(2.24)
    assert any("coarser" in n for n in plan.notes)  # 2 cm/px is 2x coarser than the model
    fine = plan_tiles(4000, 3000, 224, frame_gsd_m=0.005, model_gsd_m=0.01)
    assert fine.tile_px == 448 and not fine.notes
    assert fine.decode_scale() == 2  # a 448 px tile only needs half the pixels


def test_fallback_to_pixels_and_overlap() -> None:
    plan = plan_tiles(1600, 900, 224, overlap=0.25)
    assert plan.basis == "pixels" and plan.tile_px == 448 and plan.stride_px == 336
    assert plan.count == len(plan.boxes()) == plan.rows * plan.cols
    assert plan.decode_scale() == 2


def test_tile_larger_than_frame_shrinks_and_says_so() -> None:
    plan = plan_tiles(300, 200, 224, fallback_tile_px=448)
    assert plan.tile_px == 200 and plan.count == 2
    assert any("does not fit" in n for n in plan.notes)


def test_max_tiles_is_enforced() -> None:
    plan = plan_tiles(20000, 20000, 224, fallback_tile_px=64, max_tiles=400)
    assert plan.count <= 400
    assert any("enlarged" in n for n in plan.notes)


def test_decode_scale_never_goes_below_the_input_size() -> None:
    for tile in (224, 300, 448, 900, 1800, 4000):
        plan = plan_tiles(8000, 6000, 224, fallback_tile_px=tile)
        assert plan.tile_px / plan.decode_scale() >= 224
