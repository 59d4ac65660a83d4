"""Image intake: formats, EXIF orientation, decode-time reduction, and every kind of bad input."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from plantscout.model import (
    ImageTooLarge,
    ImageTooSmall,
    IntakeLimits,
    TruncatedImage,
    UnsupportedFormat,
    read_image,
)

# Canonical picture as a viewer should show it: 4 quadrants of distinct colours, wider than tall.
QUADRANTS = {
    "top_left": (230, 30, 30),
    "top_right": (30, 200, 30),
    "bottom_left": (30, 30, 230),
    "bottom_right": (240, 240, 40),
}
W, H = 160, 96

# The stored (raw) pixels for each EXIF orientation are the canonical picture transformed by
# the inverse of what the orientation tells a viewer to do (EXIF 2.32, tag 0x0112).
_INVERSE = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,  # viewer rotates 90° clockwise, so the raw is rotated back
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


def canonical() -> Image.Image:
    image = Image.new("RGB", (W, H))
    half_w, half_h = W // 2, H // 2
    boxes = {
        "top_left": (0, 0, half_w, half_h),
        "top_right": (half_w, 0, W, half_h),
        "bottom_left": (0, half_h, half_w, H),
        "bottom_right": (half_w, half_h, W, H),
    }
    for name, box in boxes.items():
        image.paste(QUADRANTS[name], box)
    return image


def encode(image: Image.Image, fmt: str, orientation: int = 1, **kwargs) -> bytes:
    exif = Image.Exif()
    if orientation != 1:
        exif[0x0112] = orientation
    buffer = io.BytesIO()
    if fmt == "HEIF":
        import pillow_heif  # noqa: F401 - registers the encoder with Pillow

        kwargs.setdefault("quality", 90)
    if fmt == "JPEG":
        kwargs.setdefault("quality", 95)
    if fmt == "WEBP":
        kwargs.setdefault("quality", 95)
    image.save(buffer, fmt, exif=exif.tobytes(), **kwargs)
    return buffer.getvalue()


def assert_canonical(image: Image.Image) -> None:
    assert image.size == (W, H)
    pixels = np.asarray(image).astype(int)
    probes = {
        "top_left": (H // 4, W // 4),
        "top_right": (H // 4, 3 * W // 4),
        "bottom_left": (3 * H // 4, W // 4),
        "bottom_right": (3 * H // 4, 3 * W // 4),
    }
    for name, (y, x) in probes.items():
        assert np.abs(pixels[y, x] - QUADRANTS[name]).max() < 40, (name, pixels[y, x])


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "HEIF"])
@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_format_and_orientation_decodes_upright(fmt: str, orientation: int) -> None:
    transform = _INVERSE[orientation]
    raw = canonical() if transform is None else canonical().transpose(transform)
    data = encode(raw, fmt, orientation)
    decoded = read_image(data)
    assert_canonical(decoded.image)
    assert (decoded.width, decoded.height) == (W, H)
    assert decoded.format == fmt
    assert decoded.image.mode == "RGB"


def test_original_bytes_are_hashed_untouched() -> None:
    import hashlib

    data = encode(canonical(), "JPEG", 6)
    before = bytes(data)
    decoded = read_image(data)
    assert data == before
    assert decoded.sha256 == hashlib.sha256(before).hexdigest()
    assert decoded.n_bytes == len(before)


def test_jpeg_is_reduced_at_decode_time_but_never_below_what_the_model_needs() -> None:
    rng = np.random.default_rng(0)
    big = Image.fromarray(rng.integers(0, 255, (3000, 4000, 3), dtype=np.uint8))
    data = encode(big, "JPEG", 6, quality=80)
    decoded = read_image(data, min_decoded_side=256)
    # DCT scaling by 1/8 gives 500×375 raw, rotated by the EXIF orientation to 375×500.
    assert decoded.image.size == (375, 500)
    assert (decoded.width, decoded.height) == (3000, 4000)  # the original, oriented
    assert decoded.scale == pytest.approx(0.125)
    full = read_image(data)
    assert full.image.size == (3000, 4000)


def test_jpeg_reduction_keeps_at_least_the_requested_side() -> None:
    image = Image.new("RGB", (1000, 700), (10, 120, 10))
    decoded = read_image(encode(image, "JPEG"), min_decoded_side=300)
    assert min(decoded.image.size) >= 300
    assert decoded.image.size == (500, 350)


def test_png_is_not_reduced() -> None:
    decoded = read_image(encode(Image.new("RGB", (1000, 700)), "PNG"), min_decoded_side=100)
    assert decoded.image.size == (1000, 700)


def test_transparent_png_is_composited_on_white() -> None:
    image = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    decoded = read_image(encode(image, "PNG"))
    assert np.asarray(decoded.image).min() == 255


# -- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"this is not an image at all",
        b"%PDF-1.4\n1 0 obj<<>>endobj\n",
        b"<svg xmlns='http://www.w3.org/2000/svg'/>",
    ],
)
def test_non_images_are_unsupported(data: bytes) -> None:
    with pytest.raises(UnsupportedFormat) as info:
        read_image(data)
    assert info.value.code == "unsupported_format"


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "TIFF"])
def test_other_image_formats_are_refused_by_name(fmt: str) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64)).save(buffer, fmt)
    with pytest.raises(UnsupportedFormat, match=fmt):
        read_image(buffer.getvalue())


def test_empty_file_is_truncated() -> None:
    with pytest.raises(TruncatedImage):
        read_image(b"")


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_truncated_files_raise_truncated(fmt: str) -> None:
    rng = np.random.default_rng(1)
    image = Image.fromarray(rng.integers(0, 255, (256, 256, 3), dtype=np.uint8))
    data = encode(image, fmt)
    with pytest.raises(TruncatedImage) as info:
        read_image(data[: len(data) // 2])
    assert info.value.code == "truncated_image"


def test_real_photo_truncated_by_a_few_bytes(real_photo) -> None:
    data = real_photo("cannabis").read_bytes()
    read_image(data)  # the whole file is fine
    with pytest.raises(TruncatedImage):
        read_image(data[: len(data) - 2000])


def test_too_many_bytes_is_refused_before_decoding() -> None:
    data = encode(Image.new("RGB", (256, 256)), "PNG")
    with pytest.raises(ImageTooLarge, match="bytes"):
        read_image(data, limits=IntakeLimits(max_bytes=len(data) - 1))


def test_too_many_bytes_on_disk_is_refused_before_reading(tmp_path) -> None:
    path = tmp_path / "huge.jpg"
    with open(path, "wb") as handle:
        handle.truncate(10_000_000)  # sparse file: reading it would be the bug
    with pytest.raises(ImageTooLarge):
        read_image(path, limits=IntakeLimits(max_bytes=1_000_000))


def png_bomb(width: int, height: int) -> bytes:
    """A valid PNG header claiming width×height grey pixels, with a tiny compressed body."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    row = b"\x00" + b"\x00" * width
    compressor = zlib.compressobj(9)
    body = b"".join(compressor.compress(row) for _ in range(64)) + compressor.flush()
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")
    )


def test_decompression_bomb_is_refused_from_the_header() -> None:
    data = png_bomb(50_000, 50_000)  # 2.5 gigapixels in a few kilobytes
    assert len(data) < 100_000
    with pytest.raises(ImageTooLarge, match="pixels"):
        read_image(data)


def test_pixel_limit_is_configurable() -> None:
    data = encode(Image.new("RGB", (400, 300)), "JPEG")
    with pytest.raises(ImageTooLarge):
        read_image(data, limits=IntakeLimits(max_pixels=100_000))
    assert read_image(data, limits=IntakeLimits(max_pixels=120_000)).width == 400


def test_tiny_images_are_too_small() -> None:
    with pytest.raises(ImageTooSmall) as info:
        read_image(encode(Image.new("RGB", (20, 200)), "PNG"))
    assert "32" in info.value.message


def test_corrupt_exif_does_not_reject_a_good_photo() -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (0, 128, 0)).save(buffer, "JPEG", exif=b"Exif\x00\x00garbage!!")
    decoded = read_image(buffer.getvalue())
    assert decoded.size == (64, 64)
