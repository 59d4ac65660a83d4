"""Pixel -> approximate ground coordinates for near-nadir drone frames, with honest flags.

The model: a pinhole camera at the GPS position, ``height_m`` above flat ground (the relative
altitude above the take-off point, unless the user gives a better height), pointing along
the gimbal attitude. A pixel's ray is intersected with the ground plane and the offset is
turned into latitude/longitude on the WGS84 ellipsoid (exact enough for offsets of a few
hundred metres). Every assumption becomes a flag, and each point gets a rough error radius,
because a patrol walking to a spot must know whether "here" means ±5 m or ±50 m.

Conventions (DJI's): pitch 0 = horizon, -90 = nadir; yaw clockwise from true north; with a
nadir camera, the top of the image points along the yaw.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum

from plantscout.drone.camera import Intrinsics
from plantscout.drone.geotags import Geotags

WGS84_A = 6378137.0
WGS84_E2 = 6.69437999014e-3

# Error budget of a consumer drone without RTK (metres / degrees), used for error radii.
GPS_ERROR_M = 5.0
HEADING_ERROR_DEG = 5.0
PITCH_ERROR_DEG = 2.0
ASSUMED_PITCH_ERROR_DEG = 10.0  # when nadir is assumed, not measured
HEIGHT_ERROR_FRACTION = 0.1  # take-off point vs the ground under the frame (flat terrain)

GOOD_OFF_NADIR_DEG = 15.0
MAX_OFF_NADIR_DEG = 30.0  # beyond this, ground points are not given at all
MIN_HEIGHT_M = 1.0


class Quality(StrEnum):
    GOOD = "good"  # measured nadir-ish attitude, known height and intrinsics
    APPROXIMATE = "approximate"  # usable, but an assumption was made (see flags)
    UNRELIABLE = "unreliable"  # no ground points; only the camera position is known
    NONE = "none"  # no position at all


@dataclass(frozen=True)
class GroundPoint:
    lat: float
    lon: float
    error_m: float  # rough radius within which the true spot should lie


@dataclass
class FrameGeometry:
    """Everything needed to project pixels of one frame, and how far to trust it."""

    width: int
    height: int
    camera_lat: float | None = None
    camera_lon: float | None = None
    height_m: float | None = None  # camera height above the ground
    pitch_deg: float = -90.0
    heading_deg: float | None = None
    roll_deg: float = 0.0
    intrinsics: Intrinsics | None = None
    quality: Quality = Quality.NONE
    flags: list[str] = field(default_factory=list)
    pitch_measured: bool = True

    @property
    def off_nadir_deg(self) -> float:
        return abs(90.0 + self.pitch_deg)

    @property
    def gsd_m(self) -> float | None:
        """Ground size of one pixel at the frame centre (m/px), if the geometry allows."""
        if (
            self.height_m is None
            or self.intrinsics is None
            or self.off_nadir_deg > MAX_OFF_NADIR_DEG
        ):
            return None
        # Along the central ray, distance grows as 1/cos(off-nadir).
        return self.height_m / self.intrinsics.fx / math.cos(math.radians(self.off_nadir_deg))

    def project(self, u: float, v: float) -> GroundPoint | None:
        """Ground point of pixel (u, v), or None when the geometry does not allow one."""
        if self.quality in (Quality.UNRELIABLE, Quality.NONE):
            return None
        assert self.camera_lat is not None and self.camera_lon is not None
        assert self.height_m is not None and self.intrinsics is not None
        heading = self.heading_deg if self.heading_deg is not None else 0.0
        offset = _ground_offset(
            u, v, self.intrinsics, self.height_m, self.pitch_deg, heading, self.roll_deg
        )
        if offset is None:
            return None
        north, east = offset
        lat, lon = offset_latlon(self.camera_lat, self.camera_lon, north, east)
        return GroundPoint(lat, lon, self._error_m(math.hypot(north, east)))

    def _error_m(self, distance: float) -> float:
        assert self.height_m is not None
        heading_error = (
            math.pi if self.heading_deg is None else math.radians(HEADING_ERROR_DEG)
        )  # unknown heading: the spot could be anywhere on a circle of that radius
        pitch_error = ASSUMED_PITCH_ERROR_DEG if not self.pitch_measured else PITCH_ERROR_DEG
        terms = (
            GPS_ERROR_M,
            distance * min(heading_error, 2.0),
            distance * HEIGHT_ERROR_FRACTION,
            self.height_m * math.tan(math.radians(pitch_error)),
        )
        error = math.sqrt(sum(t * t for t in terms))
        if self.intrinsics is not None and self.intrinsics.approximate:
            error += distance * 0.1
        return round(error, 1)

    def as_dict(self) -> dict[str, object]:
        return {
            "width": self.width,
            "height": self.height,
            "camera_lat": self.camera_lat,
            "camera_lon": self.camera_lon,
            "height_m": self.height_m,
            "pitch_deg": self.pitch_deg,
            "heading_deg": self.heading_deg,
            "roll_deg": self.roll_deg,
            "gsd_m": self.gsd_m,
            "quality": self.quality.value,
            "flags": list(self.flags),
            "intrinsics": self.intrinsics.as_dict() if self.intrinsics else None,
        }


def frame_geometry(
    tags: Geotags,
    intrinsics: Intrinsics | None,
    width: int,
    height: int,
    *,
    height_m: float | None = None,
    ground_elevation_m: float | None = None,
    assume_nadir: bool = False,
) -> FrameGeometry:
    """Decide what can be said about where this frame's pixels are on the ground.

    ``height_m`` (the camera's height above the ground) beats everything;
    ``ground_elevation_m`` turns the GPS altitude into a height; otherwise the relative
    altitude (above take-off) is used, assuming flat terrain. ``assume_nadir`` declares the
    camera pointed straight down when the file does not say (or says something known to be
    wrong, as the DJI Mini 3's zero gimbal).
    """
    geo = FrameGeometry(width=width, height=height, intrinsics=intrinsics)
    flags = geo.flags
    worst = Quality.GOOD

    def degrade(to: Quality, flag: str) -> None:
        nonlocal worst
        flags.append(flag)
        order = [Quality.GOOD, Quality.APPROXIMATE, Quality.UNRELIABLE, Quality.NONE]
        if order.index(to) > order.index(worst):
            worst = to

    if not tags.has_position:
        geo.quality = Quality.NONE
        flags.append("no_gps")
        return geo
    geo.camera_lat, geo.camera_lon = tags.lat, tags.lon

    # Height above ground.
    if height_m is not None:
        geo.height_m = height_m
    elif ground_elevation_m is not None and tags.altitude_m is not None:
        geo.height_m = tags.altitude_m - ground_elevation_m
    elif tags.relative_altitude_m is not None:
        geo.height_m = tags.relative_altitude_m
        flags.append("height_from_takeoff_point")  # flat terrain assumed
    if geo.height_m is None:
        degrade(Quality.UNRELIABLE, "missing_altitude")
    elif not MIN_HEIGHT_M <= geo.height_m <= 1500.0:
        degrade(Quality.UNRELIABLE, "implausible_altitude")

    if intrinsics is None:
        degrade(Quality.UNRELIABLE, "unknown_camera")
    elif intrinsics.approximate:
        degrade(Quality.APPROXIMATE, "intrinsics_from_35mm_equivalent")

    if tags.orientation not in (None, 1):
        degrade(Quality.UNRELIABLE, "rotated_frame")

    # Attitude.
    pitch, yaw, roll = tags.gimbal_pitch, tags.gimbal_yaw, tags.gimbal_roll
    if tags.gimbal_suspect or pitch is None:
        if assume_nadir:
            geo.pitch_deg, geo.roll_deg, geo.pitch_measured = -90.0, 0.0, False
            degrade(Quality.APPROXIMATE, "assumed_nadir")
            yaw = None  # a suspect gimbal's yaw is no better than its pitch
        else:
            degrade(
                Quality.UNRELIABLE,
                "gimbal_suspect" if tags.gimbal_suspect else "missing_gimbal_pitch",
            )
    else:
        geo.pitch_deg = pitch
        geo.roll_deg = roll or 0.0
        if pitch > 0:
            degrade(Quality.UNRELIABLE, "camera_above_horizon")
        elif geo.off_nadir_deg > MAX_OFF_NADIR_DEG:
            degrade(Quality.UNRELIABLE, "oblique")
        elif geo.off_nadir_deg > GOOD_OFF_NADIR_DEG:
            degrade(Quality.APPROXIMATE, "oblique")
        if geo.off_nadir_deg < 5.0 and abs(geo.roll_deg) > 20.0:
            # Near nadir, yaw and roll both turn the image about the vertical (gimbal lock):
            # a large roll makes the image's heading ambiguous.
            degrade(Quality.UNRELIABLE, "heading_ambiguous")
    if yaw is not None:
        geo.heading_deg = yaw
    elif tags.flight_yaw is not None:
        geo.heading_deg = tags.flight_yaw
        flags.append("heading_from_flight_yaw")
    else:
        degrade(Quality.UNRELIABLE, "heading_unknown")

    geo.quality = worst
    return geo


def _ground_offset(
    u: float,
    v: float,
    k: Intrinsics,
    height_m: float,
    pitch_deg: float,
    heading_deg: float,
    roll_deg: float,
) -> tuple[float, float] | None:
    """(north, east) metres from the camera's ground point to where pixel (u, v) looks."""
    th, ps, ph = (math.radians(a) for a in (pitch_deg, heading_deg, roll_deg))
    # Camera axes in NED: forward (optical axis), right and down (image x and y).
    fwd = (math.cos(th) * math.cos(ps), math.cos(th) * math.sin(ps), -math.sin(th))
    right0 = (-math.sin(ps), math.cos(ps), 0.0)
    down0 = (math.sin(th) * math.cos(ps), math.sin(th) * math.sin(ps), math.cos(th))
    right = tuple(r * math.cos(ph) + d * math.sin(ph) for r, d in zip(right0, down0, strict=True))
    down = tuple(d * math.cos(ph) - r * math.sin(ph) for r, d in zip(right0, down0, strict=True))
    xn, yn = (u - k.cx) / k.fx, (v - k.cy) / k.fy
    ray = [f + xn * r + yn * d for f, r, d in zip(fwd, right, down, strict=True)]
    if ray[2] <= 1e-6:
        return None  # looks at or above the horizon
    t = height_m / ray[2]
    north, east = t * ray[0], t * ray[1]
    if math.hypot(north, east) > 10.0 * height_m:
        return None  # grazing: tiny angle errors move the point by hundreds of metres
    return north, east


def offset_latlon(lat: float, lon: float, north_m: float, east_m: float) -> tuple[float, float]:
    """Move (lat, lon) by metres north/east on the WGS84 ellipsoid (small offsets)."""
    phi = math.radians(lat)
    s = math.sin(phi)
    w = math.sqrt(1.0 - WGS84_E2 * s * s)
    meridian = WGS84_A * (1.0 - WGS84_E2) / (w**3)
    normal = WGS84_A / w
    dlat = math.degrees(north_m / meridian)
    dlon = math.degrees(east_m / (normal * math.cos(phi)))
    return lat + dlat, lon + dlon
