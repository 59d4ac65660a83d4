"""Photo GPS and capture time, through the one EXIF reader the project has.

``plantscout.drone.geotags.read_geotags`` (the drone work: EXIF, DJI maker notes, XMP) is the
reader; this adapter only turns its answer into the few facts an inspection needs, with
capture times made timezone-aware (camera clocks usually record local wall time without an
offset: the office says which zone its cameras run in).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from plantscout.drone.geotags import read_geotags

from .bounds import RANGE_TEXT, storable_instant


@dataclass(frozen=True)
class PhotoGeotags:
    lat: float | None
    lon: float | None
    altitude_m: float | None
    captured_at: datetime | None  # aware; None when the photo has no (valid) capture time
    raw: dict[str, Any]  # everything the reader found, JSON-ready, kept with the photo

    @property
    def has_position(self) -> bool:
        return self.lat is not None and self.lon is not None


def read_photo_geotags(data: bytes, camera_zone: tzinfo) -> PhotoGeotags:
    """Never raises: a photo with unreadable metadata is still evidence."""
    try:
        raw = read_geotags(data).as_dict()
    except Exception as exc:  # noqa: BLE001 - documented never to raise; belt and braces
        raw = {"warnings": [f"geotags unreadable: {exc}"]}
    lat, lon = _finite(raw.get("lat")), _finite(raw.get("lon"))
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        lat = lon = None
    captured = _aware(raw.get("captured_at"), camera_zone)
    raw = {**raw, "captured_at": captured.isoformat() if captured else None}
    if captured is not None and not storable_instant(captured):
        # A camera clock at year 1 or 9999: kept as evidence in the file, never stored as a
        # time (its UTC value may not even exist), and said so beside the photo.
        raw["captured_at"] = None
        raw["captured_at_rejected"] = captured.isoformat()
        raw["warnings"] = [
            *raw.get("warnings", []),
            f"capture time {captured.isoformat()} is outside {RANGE_TEXT}: ignored",
        ]
        captured = None
    return PhotoGeotags(lat, lon, _finite(raw.get("altitude_m")), captured, _jsonable(raw))


def _aware(value: Any, zone: tzinfo) -> datetime | None:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    return value.replace(tzinfo=zone) if value.tzinfo is None else value


def _finite(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _jsonable(value: Any) -> Any:
    """JSON the database can store: finite numbers, text without NUL (PostgreSQL refuses it;
    camera makers pad EXIF strings with NULs)."""
    if isinstance(value, dict):
        return {_text(str(k)): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        return _text(value)
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    return _text(str(value))


def _text(value: str) -> str:
    return value.replace("\x00", "")
