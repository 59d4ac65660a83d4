"""Streamed JPEG decoding gives exactly the pixels of an ordinary decode, band by band."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from plantscout.drone.frames import FrameReader
from plantscout.drone.tiling import plan_tiles
from plantscout.model.errors import ImageTooLarge, UnsupportedFormat
from plantscout.model.intake import IntakeLimits


def _reference(data: bytes, scale: int = 1) -> np.ndarray:
    image = Image.open(io.BytesIO(data))
    if scale > 1:
        image.draft("RGB", (image.size[0] // scale, image.size[1] // scale))
    return np.asarray(image.convert("RGB"))


@pytest.mark.parametrize("tile", [448, 900])  # 448 -> decoded at 1/2; 900 -> at 1/4
def test_streamed_tiles_equal_a_whole_decode(drone_fixtures: Path, tile: int) -> None:
    data = (drone_fixtures / "hemp_dji_mini3_DJI_0705.JPG").read_bytes()
    reader = FrameReader(data)
    plan = plan_tiles(reader.width, reader.height, 224, fallback_tile_px=tile)
    info = reader.start(plan)
    tiles = list(reader.tiles(plan, info))
    assert info.streamed and len(tiles) == plan.count
    scale = plan.decode_scale()
    reference = _reference(data, scale)
    assert (info.decoded_width, info.decoded_height) == reference.shape[1::-1]
    for box, pixels in tiles:
        x0, y0 = box.x0 // scale, box.y0 // scale
        expected = reference[y0 : y0 + pixels.shape[0], x0 : x0 + pixels.shape[1]]
        assert np.array_equal(pixels, expected), box
    assert info.preview is not None and info.preview.shape[2] == 3
    assert info.rows_decoded == reader.height and not info.notes


def test_streaming_from_a_path_releases_rows(tmp_path: Path, make_drone_jpeg) -> None:
    path = tmp_path / "big.jpg"
    path.write_bytes(make_drone_jpeg(size=(3000, 2400), noise=20))
    reader = FrameReader(path)
    plan = plan_tiles(reader.width, reader.height, 64, fallback_tile_px=128)
    info = reader.start(plan)
    count = sum(1 for _ in reader.tiles(plan, info))
    assert count == plan.count and info.streamed


def test_truncated_jpeg_scans_what_it_can(drone_fixtures: Path) -> None:
    data = (drone_fixtures / "thermal_dji_xts_truncated.jpg").read_bytes()
    reader = FrameReader(data)
    plan = plan_tiles(reader.width, reader.height, 64, fallback_tile_px=128)
    info = reader.start(plan)
    tiles = list(reader.tiles(plan, info))
    assert 0 < len(tiles) < plan.count
    assert 0 < info.rows_decoded < reader.height
    assert any("truncated" in n for n in info.notes)


def test_badly_truncated_jpeg(drone_fixtures: Path) -> None:
    data = (drone_fixtures / "odm_dji_phantom3_1JI_0064.JPG").read_bytes()[:400_000]
    reader = FrameReader(data)
    plan = plan_tiles(reader.width, reader.height, 64, fallback_tile_px=128)
    info = reader.start(plan)
    tiles = list(reader.tiles(plan, info))
    assert len(tiles) < plan.count and any("truncated" in n for n in info.notes)


def test_png_falls_back_to_a_whole_decode(tmp_path: Path) -> None:
    image = Image.new("RGB", (500, 300), (10, 200, 10))
    buf = io.BytesIO()
    image.save(buf, "PNG")
    reader = FrameReader(buf.getvalue())
    plan = plan_tiles(500, 300, 64, fallback_tile_px=128)
    info = reader.start(plan)
    tiles = list(reader.tiles(plan, info))
    assert not info.streamed and len(tiles) == plan.count
    assert all(t.shape[2] == 3 for _, t in tiles)


def test_rotated_jpeg_is_decoded_whole_and_upright(tmp_path: Path) -> None:
    image = Image.new("RGB", (400, 200), (128, 128, 128))
    image.paste((0, 255, 0), (0, 0, 50, 200))  # green strip on the left of the stored image
    exif = Image.Exif()
    exif[0x0112] = 6  # display rotated 90° clockwise: the strip ends up on top
    buf = io.BytesIO()
    image.save(buf, "JPEG", exif=exif.tobytes(), quality=95)
    reader = FrameReader(buf.getvalue())
    assert (reader.width, reader.height) == (200, 400) and not reader.streamable
    plan = plan_tiles(reader.width, reader.height, 64, fallback_tile_px=100, overlap=0.0)
    tiles = dict(((b.row, b.col), t) for b, t in reader.tiles(plan))
    assert tiles[(0, 0)][:40, :, 1].mean() > 200 and tiles[(3, 0)][..., 1].mean() < 140


def test_limits_and_bad_input() -> None:
    with pytest.raises(UnsupportedFormat):
        FrameReader(b"this is not an image at all")
    image = Image.new("RGB", (2000, 2000))
    buf = io.BytesIO()
    image.save(buf, "JPEG")
    with pytest.raises(ImageTooLarge):
        FrameReader(buf.getvalue(), limits=IntakeLimits(max_pixels=1_000_000))


@pytest.mark.parametrize("progressive", [True, False])
def test_progressive_and_grey_jpegs(progressive: bool) -> None:
    rng = np.random.default_rng(1)
    pixels = (rng.random((450, 700, 3)) * 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "JPEG", quality=85, progressive=progressive)
    data = buf.getvalue()
    reader = FrameReader(data)
    plan = plan_tiles(reader.width, reader.height, 64, fallback_tile_px=128)
    info = reader.start(plan)
    reference = _reference(data, plan.decode_scale())
    for box, tile in reader.tiles(plan, info):
        x0, y0 = box.x0 // 2, box.y0 // 2
        assert np.array_equal(tile, reference[y0 : y0 + tile.shape[0], x0 : x0 + tile.shape[1]])
    assert info.streamed and (("progressive" in " ".join(info.notes)) == progressive)
    grey = io.BytesIO()
    Image.fromarray(pixels[..., 0]).save(grey, "JPEG")
    reader = FrameReader(grey.getvalue())
    assert not reader.streamable
    tiles = list(reader.tiles(plan_tiles(reader.width, reader.height, 64)))
    assert tiles and tiles[0][1].shape[2] == 3
