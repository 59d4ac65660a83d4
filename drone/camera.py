"""Camera intrinsics: how many pixels one radian spans, from EXIF and a small sensor table.

Ground resolution and ground projection both need the focal length in *pixels*. EXIF gives
the focal length in millimetres; converting needs the sensor width, which EXIF rarely gives.
Preference, best first: a calibrated pixel focal length (Skydio writes one), the user's
sensor width, this table (sensor widths from the makers' published sensor formats), the EXIF
focal-plane resolution, and last the 35 mm-equivalent focal length, which is approximate
(makers compute it on the diagonal, and 16:9 crops of 4:3 sensors bend it further).
"""

from __future__ import annotations

from dataclasses import dataclass

from plantscout.drone.geotags import Geotags

# EXIF model -> sensor width (long side) in mm. Sensor formats as published by the makers:
# 1/2.3" = 6.17 mm, 1/2" = 6.4 mm, 1/1.3" = 9.7 mm, 1" = 13.2 mm, 4/3" = 17.3 mm.
SENSOR_WIDTH_MM: dict[str, float] = {
    "FC300S": 6.17,  # Phantom 3 Advanced
    "FC300X": 6.17,  # Phantom 3 Professional
    "FC300C": 6.17,  # Phantom 3 Standard
    "FC330": 6.17,  # Phantom 4
    "FC350": 6.17,  # Inspire 1 Zenmuse X3
    "FC220": 6.17,  # Mavic Pro
    "FC2103": 6.17,  # Mavic Air
    "FC7203": 6.17,  # Mavic Mini
    "FC7303": 6.17,  # Mini 2
    "FC3170": 6.4,  # Mavic Air 2
    "FC3582": 9.7,  # Mini 3 Pro
    "FC3682": 9.7,  # Mini 3
    "FC8482": 9.7,  # Mini 4 Pro
    "FC6310": 13.2,  # Phantom 4 Pro
    "FC6310S": 13.2,  # Phantom 4 Pro V2
    "FC6310R": 13.2,  # Phantom 4 RTK
    "FC6510": 13.2,  # Zenmuse X4S
    "FC3411": 13.2,  # Air 2S
    "L1D-20C": 13.2,  # Mavic 2 Pro (Hasselblad)
    "L2D-20C": 17.3,  # Mavic 3 (Hasselblad)
    "M3E": 17.3,  # Mavic 3 Enterprise
    "ZENMUSEP1": 35.9,  # Zenmuse P1 (full frame)
}


@dataclass(frozen=True)
class Intrinsics:
    """Pinhole intrinsics in pixels of the frame as stored (principal point at the centre)."""

    fx: float
    fy: float
    cx: float
    cy: float
    source: str  # calibrated | sensor_width:user | sensor_width:table | focal_plane | 35mm
    approximate: bool  # True when derived from the 35 mm equivalent

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def intrinsics_for(
    tags: Geotags,
    width: int | None = None,
    height: int | None = None,
    *,
    sensor_width_mm: float | None = None,
    focal_length_mm: float | None = None,
) -> Intrinsics | None:
    """Best available intrinsics, or None when nothing says what the lens is.

    ``width``/``height`` default to the frame size in the metadata. The sensor's long side is
    matched with the frame's long side, so portrait frames work too.
    """
    width = width or tags.image_width
    height = height or tags.image_height
    if not width or not height:
        return None
    long_side = max(width, height)
    cx, cy = width / 2.0, height / 2.0
    zoom = tags.digital_zoom if tags.digital_zoom and tags.digital_zoom > 1 else 1.0

    def make(f: float, source: str, approximate: bool = False) -> Intrinsics:
        return Intrinsics(f, f, cx, cy, source, approximate)

    if tags.focal_length_px and tags.focal_length_px > 0:
        return make(tags.focal_length_px, "calibrated")
    focal = focal_length_mm or tags.focal_length_mm
    if focal and focal > 0:
        if sensor_width_mm and sensor_width_mm > 0:
            return make(focal * zoom / sensor_width_mm * long_side, "sensor_width:user")
        table = SENSOR_WIDTH_MM.get(_model_key(tags.camera_model))
        if table:
            return make(focal * zoom / table * long_side, "sensor_width:table")
        if tags.focal_plane_x_resolution and tags.focal_plane_resolution_unit_mm:
            # pixels per unit on the sensor -> focal length in pixels directly
            px_per_mm = tags.focal_plane_x_resolution / tags.focal_plane_resolution_unit_mm
            return make(focal * zoom * px_per_mm, "focal_plane")
    if tags.focal_length_35mm and tags.focal_length_35mm > 0:
        return make(tags.focal_length_35mm / 36.0 * long_side, "35mm", approximate=True)
    return None


def _model_key(model: str | None) -> str:
    return "".join((model or "").upper().split())
