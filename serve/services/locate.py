"""Where and when an inspection happened, from device input and photo metadata.

Location priority: a pin placed by hand (deliberate) > photo GPS (where the camera was when
the plant was photographed) > device GPS at filing time (the officer may have walked on). The
disagreement between photo GPS and the device's position is kept and flagged above a limit:
it catches a photo taken elsewhere, or a device without a fix.

Time priority: the time the client says the plant was seen > the earliest plausible photo
capture time > the time the server received the record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from ..geo import haversine_m
from ..geotags import PhotoGeotags
from ..vocab import LocationSource


@dataclass(frozen=True)
class Placement:
    lat: float | None
    lon: float | None
    accuracy_m: float | None
    source: LocationSource
    photo_lat: float | None
    photo_lon: float | None
    disagreement_m: float | None
    conflict: bool


def place(
    *,
    device: tuple[float, float, float | None] | None,
    manual: bool,
    photos: list[PhotoGeotags],
    conflict_m: float,
) -> Placement:
    photo = next((g for g in photos if g.has_position), None)
    photo_lat = photo.lat if photo else None
    photo_lon = photo.lon if photo else None
    disagreement = None
    if device is not None and photo is not None:
        assert photo.lat is not None and photo.lon is not None
        disagreement = round(haversine_m(device[0], device[1], photo.lat, photo.lon), 1)
    conflict = disagreement is not None and disagreement > conflict_m
    if device is not None and manual:
        return Placement(
            device[0], device[1], device[2], LocationSource.MANUAL, photo_lat, photo_lon,
            disagreement, conflict,
        )  # fmt: skip
    if photo is not None:
        return Placement(
            photo_lat, photo_lon, None, LocationSource.PHOTO, photo_lat, photo_lon,
            disagreement, conflict,
        )  # fmt: skip
    if device is not None:
        return Placement(
            device[0], device[1], device[2], LocationSource.DEVICE, None, None, None, False
        )
    return Placement(None, None, None, LocationSource.NONE, None, None, None, False)


def observed(
    client_time: datetime | None, photos: list[PhotoGeotags], received: datetime
) -> tuple[datetime, str, datetime | None]:
    """(observed_at, its source, earliest photo capture time)."""
    plausible = [
        g.captured_at
        for g in photos
        if g.captured_at is not None and g.captured_at <= received + timedelta(days=1)
    ]
    captured = min(plausible) if plausible else None
    if client_time is not None:
        return client_time, "client", captured
    if captured is not None:
        return captured, "photo", captured
    return received, "server", None
