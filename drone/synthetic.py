"""Synthetic drone frames with real EXIF GPS and DJI XMP, for tests and benchmarks.

A grey field with green rectangles: the tiny test bundle (a colour rule, green -> cannabis)
must find a suspected region at each rectangle, and where that region lies on the ground is
computable by hand from the geotags written here (DJI-style EXIF GPS, focal length, camera
model, and ``drone-dji:`` XMP for relative altitude, gimbal and flight yaw).
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image
from PIL.TiffImagePlugin import IFDRational

GREY = (128, 128, 128)
GREEN = (40, 200, 40)


def _dms(value: float) -> tuple[IFDRational, IFDRational, IFDRational]:
    value = abs(value)
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = (value - degrees - minutes / 60) * 3600
    return IFDRational(degrees), IFDRational(minutes), IFDRational(round(seconds * 10000), 10000)


def drone_jpeg(
    size: tuple[int, int] = (1200, 800),
    patches: tuple[tuple[int, int, int, int], ...] = (),
    *,
    lat: float | None = 40.0,
    lon: float | None = -88.0,
    relative_altitude: float | None = 50.0,
    gimbal: tuple[float, float, float] | None = (-90.0, 0.0, 0.0),
    flight_yaw: float | None = 0.0,
    model: str = "FC6310",
    focal_mm: float = 8.8,
    noise: int = 6,
    quality: int = 90,
    seed: int = 0,
) -> bytes:
    """A JPEG frame: grey field, green rectangles (x0, y0, x1, y1), EXIF GPS + DJI XMP."""
    rng = np.random.default_rng(seed)
    w, h = size
    pixels = np.empty((h, w, 3), np.uint8)
    pixels[:] = GREY
    for x0, y0, x1, y1 in patches:
        pixels[y0:y1, x0:x1] = GREEN
    if noise:
        jitter = rng.integers(-noise, noise + 1, size=(h, w, 1), dtype=np.int16)
        pixels = np.clip(pixels.astype(np.int16) + jitter, 0, 255).astype(np.uint8)
    image = Image.fromarray(pixels)
    exif = Image.Exif()
    exif[0x010F] = "DJI"
    exif[0x0110] = model
    exif_ifd = exif.get_ifd(0x8769)
    exif_ifd[0x920A] = IFDRational(round(focal_mm * 100), 100)  # FocalLength
    exif_ifd[0x9003] = "2024:08:13 06:18:48"  # DateTimeOriginal
    if lat is not None and lon is not None:
        gps = exif.get_ifd(0x8825)
        gps[1] = "N" if lat >= 0 else "S"
        gps[2] = _dms(lat)
        gps[3] = "E" if lon >= 0 else "W"
        gps[4] = _dms(lon)
        gps[5] = 0
        gps[6] = IFDRational(150)
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=quality, exif=exif.tobytes())
    data = buf.getvalue()
    attrs = []
    if relative_altitude is not None:
        attrs.append(f'drone-dji:RelativeAltitude="{relative_altitude:+.2f}"')
    if gimbal is not None:
        pitch, yaw, roll = gimbal
        attrs += [
            f'drone-dji:GimbalPitchDegree="{pitch:+.2f}"',
            f'drone-dji:GimbalYawDegree="{yaw:+.2f}"',
            f'drone-dji:GimbalRollDegree="{roll:+.2f}"',
        ]
    if flight_yaw is not None:
        attrs.append(f'drone-dji:FlightYawDegree="{flight_yaw:+.2f}"')
    if attrs:
        packet = (
            '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
            'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
            '<rdf:Description rdf:about="DJI Meta Data" '
            'xmlns:drone-dji="http://www.dji.com/drone-dji/1.0/" '
            + " ".join(attrs)
            + "/></rdf:RDF></x:xmpmeta>"
        ).encode()
        body = b"http://ns.adobe.com/xap/1.0/\x00" + packet
        segment = b"\xff\xe1" + (len(body) + 2).to_bytes(2, "big") + body
        data = data[:2] + segment + data[2:]
    return data
