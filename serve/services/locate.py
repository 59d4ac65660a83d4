"""Where and when an inspection happened, from device input and photo metadata.

Location priority: a pin placed by hand (deliberate) > photo GPS (where the camera was when
the plant was photographed) > device GPS at filing time (the officer may have walked on). The
disagreement between photo GPS and the device's position is kept and flagged above a limit:
it catches a photo taken elsewhere, or a device without a fix.

Time priority: the time the client says the plant was seen > the earliest plausible photo
capture time > the time the server received the record. Times outside the range the service
stores (``bounds.py``) are ignored and flagged, never refused (see :func:`observed`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from ..bounds import storable_instant
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


@dataclass(frozen=True)
class Observed:
    at: datetime
    source: str  # client, photo or server
    captured: datetime | None  # earliest plausible photo capture time
    rejected: str | None = None  # a client time the service cannot store, as sent


def observed(
    client_time: datetime | None, photos: list[PhotoGeotags], received: datetime
) -> Observed:
    """When the plant was seen. A client time outside the stored range (a phone whose clock
    says year 1 or 9999) is ignored and kept as text: refusing it would leave the record
    stuck in the phone's queue forever, since the queue re-sends the same time."""
    plausible = [
        g.captured_at
        for g in photos
        if g.captured_at is not None and g.captured_at <= received + timedelta(days=1)
    ]
    captured = min(plausible) if plausible else None
    rejected = None
    if client_time is not None:
        if storable_instant(client_time):
            return Observed(client_time, "client", captured)
        rejected = client_time.isoformat()
    if captured is not None:
        return Observed(captured, "photo", captured, rejected)
    return Observed(received, "server", None, rejected)
