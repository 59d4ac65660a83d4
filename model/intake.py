"""Image intake: the one place where untrusted bytes become pixels.

Every check that can be made from the header (format, byte count, pixel count) is made before
a single pixel is decoded, so a decompression bomb costs a header read, not gigabytes. JPEGs
are reduced by the decoder itself (DCT scaling via ``Image.draft``) when the model needs far
fewer pixels than the photo has, which makes a 12 MP phone photo cheap to score. The caller's
bytes are never modified: evidence is stored as it arrived.
"""

from __future__ import annotations

import hashlib
import io
import math
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import ImageTooLarge, ImageTooSmall, TruncatedImage, UnsupportedFormat

try:  # HEIC/HEIF from phones. Registered once, at import.
    import pillow_heif

    pillow_heif.register_heif_opener()
    _HEIF_AVAILABLE = True
except ImportError:  # pragma: no cover - pillow-heif is a core dependency
    _HEIF_AVAILABLE = False

# Pillow format names we accept. MPO is how Pillow names multi-picture JPEGs from phones.
SUPPORTED_FORMATS: frozenset[str] = frozenset({"JPEG", "MPO", "PNG", "WEBP", "HEIF"})
_JPEG_FORMATS = frozenset({"JPEG", "MPO"})


@dataclass(frozen=True)
class IntakeLimits:
    """Upper and lower bounds on what is decoded. Defaults suit phone photos and drone frames."""

    max_bytes: int = 50 * 1024 * 1024
    max_pixels: int = 120_000_000
    min_side: int = 32

    def __post_init__(self) -> None:
        if self.max_bytes <= 0 or self.max_pixels <= 0 or self.min_side < 1:
            raise ValueError("intake limits must be positive")


DEFAULT_LIMITS = IntakeLimits()


@dataclass(frozen=True)
class DecodedImage:
    """Pixels ready for preprocessing, plus what is known about the original file.

    ``width``/``height`` describe the original after EXIF orientation, whatever reduction the
    decoder applied; ``image`` may be smaller (see ``scale``).
    """

    image: Image.Image = field(repr=False)
    sha256: str
    format: str
    width: int
    height: int
    n_bytes: int
    scale: float = 1.0
    exif_orientation: int = 1
    exif: bytes | None = field(default=None, repr=False)

    @property
    def size(self) -> tuple[int, int]:
        return self.width, self.height


def read_image(
    source: bytes | bytearray | memoryview | str | Path,
    *,
    limits: IntakeLimits = DEFAULT_LIMITS,
    min_decoded_side: int | None = None,
) -> DecodedImage:
    """Decode one image safely.

    ``min_decoded_side``: the shorter side the consumer needs. JPEGs whose shorter side is at
    least twice that are reduced at decode time (by 1/2, 1/4 or 1/8) but never below it.
    Raises a subclass of :class:`~plantscout.model.errors.ImageError` on bad input.
    """
    data = _read_bytes(source, limits)
    return decode_bytes(data, limits=limits, min_decoded_side=min_decoded_side)


def decode_bytes(
    data: bytes,
    *,
    limits: IntakeLimits = DEFAULT_LIMITS,
    min_decoded_side: int | None = None,
) -> DecodedImage:
    if len(data) > limits.max_bytes:
        raise ImageTooLarge(f"file is {len(data):,} bytes; the limit is {limits.max_bytes:,} bytes")
    if not data:
        raise TruncatedImage("file is empty")
    digest = hashlib.sha256(data).hexdigest()
    image = _open_header(data)
    fmt = (image.format or "").upper()
    raw_w, raw_h = image.size
    if raw_w * raw_h > limits.max_pixels:
        raise ImageTooLarge(
            f"image is {raw_w}×{raw_h} = {raw_w * raw_h:,} pixels; "
            f"the limit is {limits.max_pixels:,} pixels"
        )
    if min(raw_w, raw_h) < limits.min_side:
        raise ImageTooSmall(
            f"image is {raw_w}×{raw_h}; the shorter side must be at least {limits.min_side} px"
        )
    orientation = _exif_orientation(image)
    exif_bytes = image.info.get("exif")

    scale = 1.0
    if min_decoded_side and fmt in _JPEG_FORMATS and min(raw_w, raw_h) >= 2 * min_decoded_side:
        factor = min_decoded_side / min(raw_w, raw_h)
        requested = (math.ceil(raw_w * factor), math.ceil(raw_h * factor))
        image.draft("RGB", requested)
        scale = image.size[0] / raw_w

    try:
        image.load()
    except (OSError, SyntaxError, ValueError, EOFError) as exc:  # EOFError: pillow-heif
        raise TruncatedImage(f"image data is truncated or corrupt: {exc}") from exc
    except Image.DecompressionBombError as exc:  # pragma: no cover - caught by max_pixels first
        raise ImageTooLarge(str(exc)) from exc

    image = ImageOps.exif_transpose(image)
    image = _to_rgb(image)
    width, height = (raw_h, raw_w) if orientation in (5, 6, 7, 8) else (raw_w, raw_h)
    return DecodedImage(
        image=image,
        sha256=digest,
        format="HEIF" if fmt.startswith("HEI") else ("JPEG" if fmt == "MPO" else fmt),
        width=width,
        height=height,
        n_bytes=len(data),
        scale=scale,
        exif_orientation=orientation,
        exif=exif_bytes,
    )


def _read_bytes(source: bytes | bytearray | memoryview | str | Path, limits: IntakeLimits) -> bytes:
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source)
    path = Path(source)
    size = path.stat().st_size  # checked before reading: a huge file is never loaded
    if size > limits.max_bytes:
        raise ImageTooLarge(f"{path.name} is {size:,} bytes; the limit is {limits.max_bytes:,}")
    return path.read_bytes()


def _open_header(data: bytes) -> Image.Image:
    """Open lazily (header only) and check the format."""
    try:
        image = Image.open(io.BytesIO(data))
    except UnidentifiedImageError as exc:
        raise UnsupportedFormat("not a supported image (JPEG, PNG, WebP or HEIC expected)") from exc
    except Image.DecompressionBombError as exc:
        raise ImageTooLarge(str(exc)) from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise TruncatedImage(f"image header is truncated or corrupt: {exc}") from exc
    fmt = (image.format or "").upper()
    if fmt.startswith("HEI"):
        fmt = "HEIF"
    if fmt not in SUPPORTED_FORMATS:
        raise UnsupportedFormat(
            f"{image.format or 'unknown'} images are not accepted; use JPEG, PNG, WebP or HEIC"
        )
    return image


def _exif_orientation(image: Image.Image) -> int:
    try:
        value = image.getexif().get(0x0112, 1)
    except Exception:  # a corrupt EXIF block must not reject an otherwise good photo
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode == "RGB":
        return image
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        canvas = Image.new("RGB", rgba.size, (255, 255, 255))
        canvas.paste(rgba, mask=rgba.getchannel("A"))
        return canvas
    if image.mode.startswith("I;16") or image.mode == "I":
        return image.point(lambda v: v / 256).convert("L").convert("RGB")
    return image.convert("RGB")
