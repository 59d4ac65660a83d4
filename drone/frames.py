"""Frame readers that hand out tiles band by band, holding only the rows the tiles need.

A 100 MP frame is 300 MB of pixels, more than a field laptop should spend per worker. The
JPEG reader therefore decodes *progressively into an anonymous memory map*: Pillow's own
libjpeg decoder is fed the file a chunk at a time and writes rows into the map; rows that
every remaining tile has passed are handed back to the kernel (``MADV_DONTNEED``), so the
resident set is a band of about one tile height whatever the frame size. Progress is read
from the padding byte of Pillow's 4-byte RGB pixels, which the decoder sets to 255 (the map
starts as zeros), so no private decoder state is needed. When the model needs far fewer
pixels than the frame has, the decoder also scales by 1/2, 1/4 or 1/8 (DCT scaling), which
is both faster and smaller.

Anything the streaming path cannot take (PNG, WebP, rotated or CMYK JPEGs, a Pillow whose
internals changed) falls back to an ordinary whole-frame decode, bounded by the intake
limits and reported in ``notes``.
"""

from __future__ import annotations

import io
import math
import mmap
import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from plantscout.drone.tiling import TileBox, TilePlan
from plantscout.model.errors import ImageTooLarge, TruncatedImage, UnsupportedFormat
from plantscout.model.intake import DEFAULT_LIMITS, IntakeLimits

CHUNK_BYTES = 64 * 1024
PREVIEW_MAX_SIDE = 1024
_JPEG = frozenset({"JPEG", "MPO"})


@dataclass
class FrameTiles:
    """What a reader produced besides the tiles themselves."""

    width: int  # original frame size
    height: int
    decoded_width: int
    decoded_height: int
    streamed: bool
    preview: np.ndarray | None = None  # small RGB uint8 picture of the frame
    rows_decoded: int = 0  # original-pixel rows that could be decoded (truncated files)
    notes: list[str] = field(default_factory=list)

    @property
    def scale(self) -> float:
        return self.width / self.decoded_width


class FrameReader:
    """Open a frame (path or bytes) and iterate its tiles for a :class:`TilePlan`."""

    def __init__(
        self,
        source: str | os.PathLike[str] | bytes,
        *,
        limits: IntakeLimits = DEFAULT_LIMITS,
        allow_streaming: bool = True,
    ) -> None:
        self.limits = limits
        self.allow_streaming = allow_streaming
        if isinstance(source, bytes | bytearray | memoryview):
            self._data: bytes | None = bytes(source)
            self._path = None
            size = len(self._data)
        else:
            self._data = None
            self._path = os.fspath(source)
            size = os.stat(self._path).st_size
        if size > limits.max_bytes:
            raise ImageTooLarge(f"file is {size:,} bytes; the limit is {limits.max_bytes:,}")
        if size == 0:
            raise TruncatedImage("file is empty")
        with self._open() as fp:
            image = _open_header(fp)
            self.format = (image.format or "").upper()
            self.width, self.height = image.size
            self.mode = image.mode
            self.progressive = bool(image.info.get("progressive") or image.info.get("progression"))
            try:
                self.orientation = int(image.getexif().get(0x0112, 1) or 1)
            except Exception:  # noqa: BLE001 - a bad EXIF block must not reject the frame
                self.orientation = 1
        if self.width * self.height > limits.max_pixels:
            raise ImageTooLarge(
                f"frame is {self.width}×{self.height} = {self.width * self.height:,} pixels; "
                f"the limit is {limits.max_pixels:,}"
            )
        if self.orientation in (5, 6, 7, 8):
            self.width, self.height = self.height, self.width

    def _open(self) -> BinaryIO:
        if self._data is not None:
            return io.BytesIO(self._data)
        assert self._path is not None
        return open(self._path, "rb")  # noqa: SIM115 - closed by the caller's `with`

    @property
    def streamable(self) -> bool:
        return (
            self.allow_streaming
            and self.format in _JPEG
            and self.mode == "RGB"
            and self.orientation == 1
        )

    def tiles(
        self, plan: TilePlan, info: FrameTiles | None = None
    ) -> Iterator[tuple[TileBox, np.ndarray]]:
        """Yield ``(box, pixels)`` in plan order; pixels are uint8 RGB at the decoded scale.

        ``info`` (from :meth:`start`) is filled in as decoding goes: preview, truncation.
        """
        info = info or self.start(plan)
        if info.streamed:
            yield from self._stream_tiles(plan, info)
        else:
            yield from self._whole_tiles(plan, info)

    def start(self, plan: TilePlan) -> FrameTiles:
        scale = plan.decode_scale() if self.format in _JPEG else 1
        if self.streamable:
            dw, dh = (self.width + scale - 1) // scale, (self.height + scale - 1) // scale
            info = FrameTiles(self.width, self.height, dw, dh, streamed=True)
        else:
            info = FrameTiles(self.width, self.height, self.width, self.height, streamed=False)
            info.notes.append(
                f"{self.format or 'image'} decoded whole (memory grows with frame size)"
            )
        if self.progressive and info.streamed:
            info.notes.append("progressive JPEG: the decoder buffers the whole frame")
        self._scale = scale
        return info

    # -- streaming JPEG ------------------------------------------------------------------
    def _stream_tiles(
        self, plan: TilePlan, info: FrameTiles
    ) -> Iterator[tuple[TileBox, np.ndarray]]:
        with self._open() as fp:
            try:
                stream = _JpegStream(fp, self.width, self.height, self._scale)
            except _StreamingUnavailable as exc:
                info.streamed = False
                info.notes.append(f"streaming decode unavailable ({exc}); decoded whole")
                yield from self._whole_tiles(plan, info)
                return
            try:
                info.decoded_width, info.decoded_height = stream.width, stream.height
                yield from _band_tiles(plan, stream, info)
            finally:
                stream.close()

    # -- whole-frame fallback ------------------------------------------------------------
    def _whole_tiles(
        self, plan: TilePlan, info: FrameTiles
    ) -> Iterator[tuple[TileBox, np.ndarray]]:
        with self._open() as fp:
            image = _open_header(fp)
            scale = 1
            if (image.format or "").upper() in _JPEG and self.orientation in (1, None):
                scale = self._scale
                if scale > 1:
                    image.draft("RGB", (image.size[0] // scale, image.size[1] // scale))
            try:
                image.load()
            except (OSError, SyntaxError, ValueError) as exc:
                from PIL import ImageFile

                previous = ImageFile.LOAD_TRUNCATED_IMAGES
                ImageFile.LOAD_TRUNCATED_IMAGES = True
                try:
                    fp.seek(0)
                    image = _open_header(fp)
                    if scale > 1:
                        image.draft("RGB", (image.size[0] // scale, image.size[1] // scale))
                    image.load()
                    info.notes.append(f"image data is truncated or corrupt ({exc})")
                except Exception as again:  # noqa: BLE001
                    raise TruncatedImage(f"image data is truncated or corrupt: {again}") from exc
                finally:
                    ImageFile.LOAD_TRUNCATED_IMAGES = previous
            image = ImageOps.exif_transpose(image)
            if image.mode != "RGB":
                image = image.convert("RGB")
            pixels = np.asarray(image)
        info.decoded_width, info.decoded_height = pixels.shape[1], pixels.shape[0]
        info.rows_decoded = self.height  # Pillow pads a truncated frame; the note says so
        p = max(1, math.ceil(max(pixels.shape[:2]) / PREVIEW_MAX_SIDE))
        info.preview = np.ascontiguousarray(pixels[::p, ::p])
        sx = self.width / pixels.shape[1]
        sy = self.height / pixels.shape[0]
        for box in plan.boxes():
            yield box, _crop(pixels, box, sx, sy)


class _StreamingUnavailable(Exception):
    pass


class _JpegStream:
    """Rows of a JPEG decoded into an anonymous map, fed from a file a chunk at a time."""

    def __init__(self, fp: BinaryIO, width: int, height: int, scale: int) -> None:
        fp.seek(0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            image = Image.open(fp)
        if scale > 1:
            image.draft("RGB", (width // scale, height // scale))
        self.width, self.height = image.size
        try:
            (tile,) = image.tile
            args, offset = tile[3], tile[2]
            self._map = mmap.mmap(
                -1,
                self.width * self.height * 4,
                flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS,
            )
            self._target = Image.frombuffer(
                "RGBX", (self.width, self.height), self._map, "raw", "RGBX", 0, 1
            )
            self._decoder = Image._getdecoder("RGBX", "jpeg", args, image.decoderconfig)
            self._decoder.setimage(self._target.im, (0, 0, self.width, self.height))
        except Exception as exc:  # noqa: BLE001 - Pillow internals: fall back, never fail
            raise _StreamingUnavailable(f"{exc.__class__.__name__}: {exc}") from exc
        self.rows = np.frombuffer(self._map, np.uint8).reshape(self.height, self.width, 4)
        self._fp = fp
        fp.seek(offset)
        self._pending = b""
        self.rows_done = 0
        self.finished = False
        self.broken: str | None = None
        self._released = 0  # bytes at the start of the map already returned to the kernel

    def advance(self) -> int:
        """Decode the next chunk; return the number of complete rows so far."""
        if self.finished:
            return self.rows_done
        chunk = self._fp.read(CHUNK_BYTES)
        self._pending += chunk
        consumed, error = self._decoder.decode(self._pending)
        if consumed < 0:
            self.finished = True
            if error < 0:
                self.broken = f"decoder error {error}"
        else:
            self._pending = self._pending[consumed:]
            if not chunk:  # no more data, decoder still waiting: truncated file
                self.finished = True
                self.broken = "the file ends before the image does"
        self.rows_done = self._count_rows()
        if self.finished and self.broken is None:
            self.rows_done = self.height
        return self.rows_done

    def _count_rows(self) -> int:
        # Rows are written top to bottom; a written row's last pixel has padding byte 255.
        lo, hi = self.rows_done, self.height
        flags = self.rows[:, -1, 3]
        step = 64
        while lo < hi and flags[min(lo + step, hi) - 1] == 255:
            lo = min(lo + step, hi)
            step *= 2
        # binary search in (lo, min(lo + step, hi)]
        hi = min(lo + step, hi)
        while lo < hi:
            mid = (lo + hi) // 2
            if flags[mid] == 255:
                lo = mid + 1
            else:
                hi = mid
        return lo

    def release_above(self, row: int) -> None:
        """Give back the memory of rows [0, row): no tile will read them again."""
        page = mmap.PAGESIZE
        end = (row * self.width * 4) // page * page
        if end > self._released:
            self._map.madvise(mmap.MADV_DONTNEED, self._released, end - self._released)
            self._released = end

    def close(self) -> None:
        try:
            self._decoder.cleanup()
        except Exception:  # noqa: BLE001
            pass
        del self.rows, self._target, self._decoder
        try:
            self._map.close()
        except BufferError:  # a tile view still alive somewhere: the GC unmaps it later
            pass


def _band_tiles(
    plan: TilePlan, stream: _JpegStream, info: FrameTiles
) -> Iterator[tuple[TileBox, np.ndarray]]:
    sy = info.height / stream.height
    sx = info.width / stream.width
    p = max(1, math.ceil(max(stream.width, stream.height) / PREVIEW_MAX_SIDE))
    preview_rows = -(-stream.height // p)
    preview = np.zeros((preview_rows, -(-stream.width // p), 3), np.uint8)
    next_preview = 0
    boxes = plan.boxes()
    by_row: dict[int, list[TileBox]] = {}
    for box in boxes:
        by_row.setdefault(box.row, []).append(box)
    band_tops = [int(math.floor(y / sy)) for y in plan.ys]
    for r in range(plan.rows):
        band = by_row[r]
        need = min(stream.height, int(math.ceil(band[0].y1 / sy)))
        while stream.rows_done < need and not stream.finished:
            stream.advance()
            next_preview = _fill_preview(preview, stream, p, next_preview)
        if stream.rows_done < need:
            break  # truncated: the remaining bands cannot be decoded
        for box in band:
            yield box, _crop(stream.rows, box, sx, sy, channels=3)
        if r + 1 < plan.rows:
            stream.release_above(min(band_tops[r + 1], next_preview * p))
    while not stream.finished and stream.rows_done < stream.height:
        # Keep decoding to the end, for the preview and for truncation detection.
        stream.advance()
        next_preview = _fill_preview(preview, stream, p, next_preview)
        stream.release_above(next_preview * p)
    info.preview = preview
    info.rows_decoded = int(round(stream.rows_done * sy))
    if stream.broken:
        missing = 100.0 * (1.0 - stream.rows_done / stream.height)
        info.notes.append(
            f"image data is truncated or corrupt ({stream.broken}): the bottom "
            f"{missing:.0f}% of the frame could not be decoded and was not scanned"
        )


def _fill_preview(preview: np.ndarray, stream: _JpegStream, p: int, start: int) -> int:
    stop = -(-stream.rows_done // p)  # preview row j samples decoded row j * p
    if stop > start:
        preview[start:stop] = stream.rows[start * p : stop * p : p, ::p, :3][: stop - start]
    return max(start, stop)


def _crop(
    pixels: np.ndarray, box: TileBox, sx: float, sy: float, channels: int | None = None
) -> np.ndarray:
    """The tile's pixels at the decoded scale, copied out of the frame buffer."""
    h, w = pixels.shape[:2]
    x0, y0 = int(math.floor(box.x0 / sx)), int(math.floor(box.y0 / sy))
    x1, y1 = min(w, int(math.ceil(box.x1 / sx))), min(h, int(math.ceil(box.y1 / sy)))
    view = pixels[y0:y1, x0:x1]
    if channels is not None:
        view = view[..., :channels]
    return np.ascontiguousarray(view)


def _open_header(fp: BinaryIO) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "malformed MPO" and friends: base JPEG is fine
            return Image.open(fp)
    except UnidentifiedImageError as exc:
        raise UnsupportedFormat("not an image Pillow can read") from exc
    except Image.DecompressionBombError as exc:
        raise ImageTooLarge(str(exc)) from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise TruncatedImage(f"image header is truncated or corrupt: {exc}") from exc
