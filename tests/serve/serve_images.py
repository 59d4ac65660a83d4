"""Small synthetic photos whose tiny-bundle verdict is known, optionally with EXIF GPS.

The tiny test bundle is a colour rule: green → cannabis ``suspected``, red → ornamental poppy
→ opium poppy ``review``, grey → ``unusable``, blue → other plant ``clear``. A ``seed`` adds a
few distinct pixels so that every photo has its own sha256 (content-addressed storage would
otherwise merge identical test images).
"""

from __future__ import annotations

import io
import random
from datetime import datetime

from PIL import Image

COLOURS = {
    "green": (40, 200, 40),
    "red": (220, 40, 40),
    "grey": (128, 128, 128),
    "blue": (40, 40, 220),
}


def photo(
    colour: str = "green",
    *,
    seed: int = 0,
    size: tuple[int, int] = (128, 128),
    fmt: str = "PNG",
    gps: tuple[float, float] | None = None,
    taken: datetime | None = None,
) -> bytes:
    image = Image.new("RGB", size, COLOURS[colour])
    rng = random.Random(seed)
    pixels = image.load()
    for _ in range(8):
        x, y = rng.randrange(size[0]), rng.randrange(size[1])
        pixels[x, y] = tuple(rng.randrange(256) for _ in range(3))
    exif = Image.Exif()
    if gps is not None:
        exif[0x8825] = _gps_ifd(*gps)
    if taken is not None:
        exif[0x0132] = taken.strftime("%Y:%m:%d %H:%M:%S")
        exif.get_ifd(0x8769)[0x9003] = taken.strftime("%Y:%m:%d %H:%M:%S")
    buffer = io.BytesIO()
    kwargs = {"exif": exif.tobytes()} if (gps or taken) else {}
    if fmt == "JPEG":
        kwargs["quality"] = 95
    image.save(buffer, fmt, **kwargs)
    return buffer.getvalue()


def _dms(value: float) -> tuple[float, float, float]:
    value = abs(value)
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = round((value - degrees - minutes / 60) * 3600, 4)
    return (float(degrees), float(minutes), seconds)


def _gps_ifd(lat: float, lon: float) -> dict[int, object]:
    return {
        1: "N" if lat >= 0 else "S",
        2: _dms(lat),
        3: "E" if lon >= 0 else "W",
        4: _dms(lon),
    }
