"""Where and how a drone frame was taken: GPS, altitude, gimbal and flight angles, camera.

Drone makers write the same facts in different places: EXIF GPS (everyone), DJI maker notes
(older DJI: camera pitch / yaw / roll), and XMP in vendor namespaces (DJI ``drone-dji:``,
older DJI thermal cameras ``http://www.dji.com``, Autel ``drone:``, Skydio ``drone-skydio:``,
Parrot ``drone-parrot:``, Pix4D ``Camera:``). :func:`read_geotags` reads all of them and
returns one :class:`Geotags`.

It never raises on bad metadata: drone files arrive truncated, with malformed XMP (one DJI
thermal camera declares the same namespace twice, which a strict XML parser rejects) or with
impossible values. Whatever can be read is returned; everything else becomes a sentence in
``warnings``, so a map built from it can say *why* a point is missing or approximate instead
of guessing silently. XMP is parsed with defusedxml (no entities, no DTDs): the bytes are
untrusted.

Angles use the DJI convention throughout: degrees; gimbal pitch 0 = horizon, -90 = straight
down (nadir); yaw clockwise from true north, in (-180, 180].
"""

from __future__ import annotations

import io
import logging
import math
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

__all__ = ["Geotags", "read_geotags", "read_xmp_packet", "parse_xmp"]

# exifread logs every odd maker-note field at WARNING; our own `warnings` say what matters.
logging.getLogger("exifread").setLevel(logging.ERROR)

_XMP_START = b"<x:xmpmeta"
_XMP_END = b"</x:xmpmeta>"
_XMP_APP1_HEADER = b"http://ns.adobe.com/xap/1.0/\x00"
_MAX_XMP_BYTES = 4 * 1024 * 1024  # a real packet is a few KB; refuse to parse megabytes
_RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"

# Frame sizes of radiometric thermal sensors (DJI XT/XT2/H20T/H20N/M2EA/M30T/M3T, FLIR).
_THERMAL_SIZES = frozenset({(640, 512), (336, 256), (320, 256), (160, 120), (1280, 1024)})

# Plausibility bounds: outside them a value is kept but flagged, never silently trusted.
MAX_RELATIVE_ALTITUDE_M = 1500.0  # far above any legal or practical survey flight
MIN_ABSOLUTE_ALTITUDE_M = -430.0  # the Dead Sea shore, the lowest dry land
MAX_ABSOLUTE_ALTITUDE_M = 9000.0
# A camera clock outside these years was never set (or the file lies); such a time also
# overflows when a zone is applied at the ends of datetime's range (year 1, year 9999).
EARLIEST_CAPTURE_YEAR = 1900
LATEST_CAPTURE_YEAR = 2199
_MAX_XMP_DEPTH = 32  # real XMP structs nest a few levels; hostile ones nest thousands


@dataclass
class Geotags:
    """Metadata of one frame. ``None`` means "not recorded" (or unreadable; see warnings).

    ``sources`` names where each value came from (``exif``, ``makernote:dji``, ``xmp:dji``,
    ``xmp:skydio`` …) so a reviewer can tell a GPS fix from a maker-note guess.
    ``gimbal_suspect`` is True when the camera wrote a gimbal attitude that is known to be
    unreliable (e.g. the DJI Mini 3 writes pitch = yaw = roll = 0 on frames that are in fact
    nadir): the values are kept as written, and geometry must not trust them.
    """

    lat: float | None = None
    lon: float | None = None
    altitude_m: float | None = None  # GPS altitude (above sea level / ellipsoid, as written)
    relative_altitude_m: float | None = None  # above the take-off point
    captured_at: datetime | None = None  # camera clock; tz-aware only when the file says so
    gimbal_pitch: float | None = None
    gimbal_yaw: float | None = None
    gimbal_roll: float | None = None
    flight_yaw: float | None = None
    flight_pitch: float | None = None
    flight_roll: float | None = None
    camera_make: str | None = None
    camera_model: str | None = None
    focal_length_mm: float | None = None
    focal_length_35mm: float | None = None
    focal_length_px: float | None = None  # calibrated focal length in pixels (Skydio)
    focal_plane_x_resolution: float | None = None  # pixels per unit (EXIF FocalPlane…)
    focal_plane_resolution_unit_mm: float | None = None
    digital_zoom: float | None = None
    image_width: int | None = None
    image_height: int | None = None
    orientation: int | None = None  # EXIF orientation 1..8
    image_source: str | None = None  # e.g. DJI "InfraredCamera"
    gimbal_suspect: bool = False
    truncated: bool = False  # a JPEG without its end-of-image marker
    sources: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def has_position(self) -> bool:
        return self.lat is not None and self.lon is not None

    @property
    def is_thermal(self) -> bool:
        """Thermal frames carry no colour: a plant classifier must not score them.

        DJI M300-era cameras say so in XMP (``ImageSource="InfraredCamera"``); older ones do
        not, but their radiometric sensors have tell-tale sizes (640×512, 336×256…), as do
        FLIR's.
        """
        source = (self.image_source or "").lower()
        if "infrared" in source or "thermal" in source:
            return True
        make = (self.camera_make or "").upper()
        size = (self.image_width, self.image_height)
        return make.startswith("FLIR") or (make.startswith("DJI") and size in _THERMAL_SIZES)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["captured_at"] = self.captured_at.isoformat() if self.captured_at else None
        return data


def read_geotags(data: bytes, *, whole_file: bool = True) -> Geotags:
    """Read every geotag the file carries. Never raises on bad metadata.

    ``whole_file=False`` says ``data`` is only the head of the file (metadata sits in the
    first few hundred KB), so a missing end-of-image marker is not reported as truncation.
    """
    tags = Geotags()
    if not data:
        tags.warnings.append("file is empty: no metadata")
        return tags
    _read_image_header(data, tags, whole_file)
    problem = _exif_overrun(data)
    if problem:
        tags.warnings.append(f"EXIF is corrupt ({problem}): ignored")
        exif: dict[str, Any] = {}
    else:
        exif = _read_exif(data, tags, details=False)
    if exif:
        _apply_exif(exif, tags)
    try:
        packet = read_xmp_packet(data)
    except Exception as exc:  # noqa: BLE001 - metadata must never reject a frame
        tags.warnings.append(f"XMP could not be located: {exc}")
        packet = None
    if packet is not None:
        properties = parse_xmp(packet, tags.warnings)
        _apply_xmp(properties, tags)
    # Maker notes only when XMP gave no gimbal: decoding them is slow on cameras whose
    # maker note is not an IFD (DJI thermal: exifread walks ~30,000 bogus entries).
    if exif and tags.gimbal_pitch is None and (tags.camera_make or "").upper().startswith("DJI"):
        _apply_dji_maker_note(_read_exif(data, tags, details=True), tags)
    _check_plausibility(tags)
    return tags


# -- image header -------------------------------------------------------------------------


def _read_image_header(data: bytes, tags: Geotags, whole_file: bool) -> None:
    """Frame size from the image header (the JPEG SOF), not EXIF, which can disagree."""
    import warnings

    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. "malformed MPO": the base JPEG is fine
            with Image.open(io.BytesIO(data)) as image:
                tags.image_width, tags.image_height = image.size
    except Exception as exc:  # noqa: BLE001
        tags.warnings.append(f"image header unreadable ({exc.__class__.__name__}): size unknown")
    if whole_file and data[:2] == b"\xff\xd8" and data.rstrip(b"\x00\r\n ")[-2:] != b"\xff\xd9":
        tags.truncated = True
        tags.warnings.append(
            "JPEG has no end-of-image marker: the file is truncated; metadata was read, "
            "but the bottom of the picture may be missing"
        )


_TIFF_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8}


def _exif_overrun(data: bytes) -> str | None:
    """Why the file's EXIF IFDs cannot be what they claim, or None.

    exifread believes the counts it reads: a 1 KB file whose IFD claims 65,535 entries, or
    whose tag claims 60,000 values, makes it walk them all past the end of the data (~0.4 s
    of CPU each, per photo). The standard IFDs (IFD0/1, EXIF, GPS, interoperability) and their
    values are checked here first, in microseconds, where exifread itself finds the TIFF
    header and against the bytes it could read. (DJI maker notes are read only in the second,
    detailed pass, for DJI frames without XMP attitude.)
    """
    try:
        from exifread.core.find_exif import determine_type

        offset, endian, _ = determine_type(io.BytesIO(data))
    except Exception:  # noqa: BLE001 - no EXIF, or an exifread without this helper
        return None
    tiff = data[offset:]
    if len(tiff) < 8:
        return None
    order = "little" if endian[:1] == b"I" else "big"  # as exifread: anything else is "MM"

    def number(pos: int, size: int) -> int:
        return int.from_bytes(tiff[pos : pos + size], order)

    pending, seen = [number(4, 4)], set()
    while pending and len(seen) < 16:
        ifd = pending.pop()
        if ifd in seen or ifd > len(tiff) - 2:
            continue  # a link past the end is skipped by exifread too: not a reason to refuse
        seen.add(ifd)
        count = number(ifd, 2)
        end = ifd + 2 + 12 * count
        if end > len(tiff):
            return f"an IFD claims {count:,} entries; the file holds {len(tiff):,} more bytes"
        for entry in range(ifd + 2, end, 12):
            tag, kind, values = number(entry, 2), number(entry + 2, 2), number(entry + 4, 4)
            size = values * _TIFF_TYPE_SIZES.get(kind, 1)
            if size > 4 and number(entry + 8, 4) + size > len(tiff):
                return f"tag 0x{tag:04X} claims {values:,} values past the end of the block"
            if tag in (0x8769, 0x8825, 0xA005):  # EXIF, GPS, interop links
                pending.append(number(entry + 8, 4))
        if number(end, 4):  # the next IFD; 0 ends the chain (sub-IFD links at 0 are walked)
            pending.append(number(end, 4))
    return None


# -- EXIF ---------------------------------------------------------------------------------


def _read_exif(data: bytes, tags: Geotags, *, details: bool) -> dict[str, Any]:
    import exifread

    try:
        return dict(
            exifread.process_file(io.BytesIO(data), details=details, extract_thumbnail=False)
        )
    except Exception as exc:  # noqa: BLE001 - exifread raises many types on corrupt files
        tags.warnings.append(f"EXIF unreadable ({exc.__class__.__name__}: {exc})")
        return {}


def _num(value: Any) -> float | None:
    """An exifread value (Ratio, int, float, 1-tuple) as a float; 0/0 and NaN are None."""
    while isinstance(value, tuple | list):  # maker notes nest floats: [(-89.9,)]
        if len(value) != 1:
            return None
        value = value[0]
    den = getattr(value, "den", None)
    if den is not None:
        if den == 0:
            return None
        result = float(value.num) / float(den)
    elif isinstance(value, int | float):
        result = float(value)
    else:
        try:
            result = float(str(value).strip())
        except ValueError:
            return None
    return result if math.isfinite(result) else None


def _tag_num(exif: dict[str, Any], key: str) -> float | None:
    tag = exif.get(key)
    return None if tag is None else _num(tag.values)


def _tag_str(exif: dict[str, Any], key: str) -> str | None:
    tag = exif.get(key)
    if tag is None:
        return None
    value = tag.values
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    text = str(value).replace("\x00", "").strip()
    return text or None


def _dms(
    exif: dict[str, Any], key: str, ref_key: str, positive: str, tags: Geotags
) -> float | None:
    tag = exif.get(key)
    if tag is None:
        return None
    values = tag.values if isinstance(tag.values, list) else [tag.values]
    parts = [_num(v) for v in values]
    if len(parts) != 3 or any(p is None for p in parts):
        tags.warnings.append(f"{key} is malformed ({tag}): ignored")
        return None
    degrees, minutes, seconds = parts  # type: ignore[misc]
    result = degrees + minutes / 60.0 + seconds / 3600.0
    ref = _tag_str(exif, ref_key)
    if ref is None:
        tags.warnings.append(f"{ref_key} is missing: assuming {positive}")
    elif ref.upper()[:1] not in ("N", "S", "E", "W"):
        tags.warnings.append(f"{ref_key} is {ref!r}: assuming {positive}")
    elif ref.upper()[:1] in ("S", "W"):
        result = -result
    return result


def _apply_exif(exif: dict[str, Any], tags: Geotags) -> None:
    tags.camera_make = _tag_str(exif, "Image Make")
    tags.camera_model = _tag_str(exif, "Image Model")
    orientation = _tag_num(exif, "Image Orientation")
    if orientation is not None and 1 <= orientation <= 8:
        tags.orientation = int(orientation)

    lat = _dms(exif, "GPS GPSLatitude", "GPS GPSLatitudeRef", "N", tags)
    lon = _dms(exif, "GPS GPSLongitude", "GPS GPSLongitudeRef", "E", tags)
    if lat is not None and lon is not None:
        tags.lat, tags.lon = lat, lon
        tags.sources["position"] = "exif"
    elif lat is not None or lon is not None:
        tags.warnings.append("EXIF GPS has only one of latitude / longitude: position ignored")

    altitude = _tag_num(exif, "GPS GPSAltitude")
    if altitude is not None:
        ref = _tag_num(exif, "GPS GPSAltitudeRef")
        if ref == 1:  # 1 = below sea level
            altitude = -altitude
        tags.altitude_m = altitude
        tags.sources["altitude_m"] = "exif"

    tags.captured_at = _exif_datetime(exif, tags)
    if tags.captured_at is not None:
        tags.sources["captured_at"] = "exif"

    tags.focal_length_mm = _positive(_tag_num(exif, "EXIF FocalLength"))
    tags.focal_length_35mm = _positive(_tag_num(exif, "EXIF FocalLengthIn35mmFilm"))
    tags.focal_plane_x_resolution = _positive(_tag_num(exif, "EXIF FocalPlaneXResolution"))
    unit = _tag_num(exif, "EXIF FocalPlaneResolutionUnit")
    tags.focal_plane_resolution_unit_mm = {2: 25.4, 3: 10.0, 4: 1.0, 5: 0.001}.get(
        int(unit) if unit is not None else -1
    )
    tags.digital_zoom = _positive(_tag_num(exif, "EXIF DigitalZoomRatio"))


def _apply_dji_maker_note(exif: dict[str, Any], tags: Geotags) -> None:
    """Older DJI cameras (Phantom 3/4, Inspire 1) keep attitude only in the maker note:
    Pitch/Yaw/Roll are the aircraft's, CameraPitch/CameraYaw/CameraRoll the gimbal's."""
    for exif_key, name in (
        ("MakerNote CameraPitch", "gimbal_pitch"),
        ("MakerNote CameraYaw", "gimbal_yaw"),
        ("MakerNote CameraRoll", "gimbal_roll"),
        ("MakerNote Yaw", "flight_yaw"),
        ("MakerNote Pitch", "flight_pitch"),
        ("MakerNote Roll", "flight_roll"),
    ):
        value = _tag_num(exif, exif_key)
        if value is not None and getattr(tags, name) is None:
            setattr(tags, name, _round_float32(value))
            tags.sources[name] = "makernote:dji"


def _positive(value: float | None) -> float | None:
    return value if value is not None and value > 0 else None


def _round_float32(value: float) -> float:
    """Maker notes store float32: -89.9 arrives as -89.9000015…; keep what was meant."""
    return round(value, 4)


def _exif_datetime(exif: dict[str, Any], tags: Geotags) -> datetime | None:
    for key, subsec_key, offset_key in (
        ("EXIF DateTimeOriginal", "EXIF SubSecTimeOriginal", "EXIF OffsetTimeOriginal"),
        ("EXIF DateTimeDigitized", "EXIF SubSecTimeDigitized", "EXIF OffsetTimeDigitized"),
        ("Image DateTime", "EXIF SubSecTime", "EXIF OffsetTime"),
    ):
        text = _tag_str(exif, key)
        if not text:
            continue
        try:
            moment = datetime.strptime(text[:19], "%Y:%m:%d %H:%M:%S")
        except ValueError:
            tags.warnings.append(f"{key} is not a valid date ({text!r})")
            continue
        subsec = _tag_str(exif, subsec_key)
        if subsec and subsec.isdigit():
            moment = moment.replace(microsecond=int(subsec.ljust(6, "0")[:6]))
        offset = _parse_offset(_tag_str(exif, offset_key))
        if offset is not None:
            moment = moment.replace(tzinfo=offset)
        if not _plausible_time(moment, key, tags.warnings):
            continue
        return moment
    return None


def _plausible_time(moment: datetime, what: str, warnings: list[str]) -> bool:
    if EARLIEST_CAPTURE_YEAR <= moment.year <= LATEST_CAPTURE_YEAR:
        return True
    warnings.append(f"{what} is {moment.isoformat()}: the camera clock was not set; ignored")
    return False


def _parse_offset(text: str | None) -> timezone | None:
    match = re.fullmatch(r"([+-])(\d{2}):?(\d{2})", (text or "").strip())
    if not match or int(match.group(2)) > 14 or int(match.group(3)) > 59:
        return None  # real offsets run from -12:00 to +14:00
    sign = -1 if match.group(1) == "-" else 1
    return timezone(sign * timedelta(hours=int(match.group(2)), minutes=int(match.group(3))))


# -- XMP ----------------------------------------------------------------------------------


def read_xmp_packet(data: bytes) -> bytes | None:
    """The XMP packet of a file, or None.

    JPEG: walk the APP1 segments before the image data (cheap, exact). Other formats (TIFF,
    PNG, WebP, HEIC) embed the same ``<x:xmpmeta>`` text; search the first few megabytes.
    """
    if data[:2] == b"\xff\xd8":
        packet = _jpeg_xmp(data)
        if packet is not None:
            return packet
    head = data[: 16 * 1024 * 1024]
    start = head.find(_XMP_START)
    if start < 0:
        return None
    end = head.find(_XMP_END, start)
    if end < 0 or end - start > _MAX_XMP_BYTES:
        return None
    return head[start : end + len(_XMP_END)]


def _jpeg_xmp(data: bytes) -> bytes | None:
    packet = _jpeg_app1(data, _XMP_APP1_HEADER)
    if packet is None:
        return None
    start = packet.find(_XMP_START)
    end = packet.rfind(_XMP_END)
    if start >= 0 and end > start:
        return packet[start : end + len(_XMP_END)]
    return packet


def _jpeg_app1(data: bytes, prefix: bytes) -> bytes | None:
    """The body (after ``prefix``) of the first APP1 segment that starts with ``prefix``."""
    pos = 2
    n = len(data)
    while pos + 4 <= n:
        if data[pos] != 0xFF:
            return None  # lost sync: not a well-formed segment list
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0xD9, 0xDA):  # end of image / start of scan: no metadata after this
            return None
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            pos += 2
            continue
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        if length < 2:
            return None
        body = data[pos + 4 : pos + 2 + length]
        if marker == 0xE1 and body.startswith(prefix):
            return body[len(prefix) :]
        pos += 2 + length
    return None


_DUP_XMLNS = re.compile(rb'\s(xmlns:[\w.-]+)="([^"]*)"')
# The look-behind starts a match only where a name starts: without it, a long run of name
# characters is rescanned from every position in it (40 KB took 32 s; 4 MB, days).
_ATTRIBUTE = re.compile(r'(?<![\w.-])([\w.-]+):([\w.-]+)\s*=\s*"([^"]*)"')
_XMLNS = re.compile(r'xmlns:([\w.-]+)\s*=\s*"([^"]*)"')


def parse_xmp(packet: bytes, warnings: list[str] | None = None) -> dict[tuple[str, str], str]:
    """Flatten an XMP packet to ``{(namespace URI, name): value}``.

    Simple properties come from attributes and elements of every ``rdf:Description``;
    struct fields are named ``Parent/Field`` (Skydio's ``CameraOrientationNED/Pitch``);
    arrays give their first item. Malformed packets are repaired where the fault is a known
    harmless one (a duplicated namespace declaration); otherwise attributes are read with a
    regular expression and a warning says so. Never raises.
    """
    warnings = warnings if warnings is not None else []
    if len(packet) > _MAX_XMP_BYTES:
        warnings.append(f"XMP packet is {len(packet):,} bytes: ignored as implausible")
        return {}
    from defusedxml import ElementTree as SafeET

    try:
        root = SafeET.fromstring(packet)
    except Exception as first_error:  # noqa: BLE001 - ParseError or a defusedxml refusal
        repaired = _dedupe_xmlns(packet)
        try:
            root = SafeET.fromstring(repaired)
        except Exception:  # noqa: BLE001
            warnings.append(
                f"XMP is malformed ({first_error}); read its attributes without an XML parser"
            )
            return _regex_properties(packet)
        warnings.append(f"XMP was malformed ({first_error}) and was repaired")
    properties: dict[tuple[str, str], str] = {}
    for description in root.iter(f"{{{_RDF_NS}}}Description"):
        _collect(description, "", properties)
    return properties


def _dedupe_xmlns(packet: bytes) -> bytes:
    """Drop repeated identical ``xmlns:p="…"`` declarations on one element (DJI XT S)."""

    def fix_tag(match: re.Match[bytes]) -> bytes:
        seen: set[tuple[bytes, bytes]] = set()

        def keep_first(decl: re.Match[bytes]) -> bytes:
            key = (decl.group(1), decl.group(2))
            if key in seen:
                return b""
            seen.add(key)
            return decl.group(0)

        return _DUP_XMLNS.sub(keep_first, match.group(0))

    return re.sub(rb"<[^<>]+>", fix_tag, packet)


def _regex_properties(packet: bytes) -> dict[tuple[str, str], str]:
    # NUL cannot occur in XML, so a parser never returns it; here it could reach a stored
    # record (PostgreSQL text and JSONB refuse U+0000).
    text = packet.decode("utf-8", "replace").replace("\x00", "")
    namespaces = {m.group(1): m.group(2) for m in _XMLNS.finditer(text)}
    properties: dict[tuple[str, str], str] = {}
    for prefix, name, value in _ATTRIBUTE.findall(text):
        if prefix == "xmlns" or prefix not in namespaces:
            continue
        properties.setdefault((namespaces[prefix], name), value)
    return properties


def _split(tag: str) -> tuple[str, str]:
    if tag.startswith("{"):
        ns, _, local = tag[1:].partition("}")
        return ns, local
    return "", tag


def _collect(element: Any, parent: str, out: dict[tuple[str, str], str], depth: int = 0) -> None:
    if depth > _MAX_XMP_DEPTH:
        return
    for key, value in element.attrib.items():
        ns, local = _split(key)
        if ns in (_RDF_NS, "http://www.w3.org/XML/1998/namespace"):
            continue
        out.setdefault((ns, parent + local), value)
    for child in element:
        ns, local = _split(child.tag)
        if ns == _RDF_NS:
            if local in ("Seq", "Alt", "Bag"):
                items = [li.text for li in child if li.text and li.text.strip()]
                if items and parent:
                    out.setdefault((_parent_ns(element), parent.rstrip("/")), items[0].strip())
            elif local == "Description":
                _collect(child, parent, out, depth + 1)
            continue
        name = parent + local
        if len(child) == 0 and not child.attrib:
            if child.text and child.text.strip():
                out.setdefault((ns, name), child.text.strip())
            continue
        # A struct (rdf:parseType="Resource", nested Description, or attributes) or an
        # array (handled one level down, where the rdf:Seq is seen with its parent's name).
        _collect(child, name + "/", out, depth + 1)


def _parent_ns(element: Any) -> str:
    return _split(element.tag)[0]


# Vendor namespaces, matched by substring because each vendor has used several URIs.
_FAMILIES = (
    ("dji", ("dji.com",)),
    ("skydio", ("skydio.com",)),
    ("parrot", ("parrot.com",)),
    ("autel", ("autelrobotics", "autel")),
    ("camera", ("pix4d.com/camera",)),
)

_DJI_STYLE_FIELDS: dict[str, tuple[str, ...]] = {
    "lat": ("GpsLatitude", "Latitude"),
    "lon": ("GpsLongitude", "GpsLongtitude", "Longitude"),
    "altitude_m": ("AbsoluteAltitude",),
    "relative_altitude_m": ("RelativeAltitude",),
    "gimbal_pitch": ("GimbalPitchDegree",),
    "gimbal_yaw": ("GimbalYawDegree",),
    "gimbal_roll": ("GimbalRollDegree",),
    "flight_yaw": ("FlightYawDegree",),
    "flight_pitch": ("FlightPitchDegree",),
    "flight_roll": ("FlightRollDegree",),
}

# Geotags field -> candidate property names, per vendor family, in order of preference.
_XMP_FIELDS: dict[str, dict[str, tuple[str, ...]]] = {
    "dji": _DJI_STYLE_FIELDS,
    # Skydio: https://support.skydio.com "Skydio camera and metadata overview".
    "skydio": {
        "lat": ("Latitude",),
        "lon": ("Longitude",),
        "altitude_m": ("AbsoluteAltitude",),
        "relative_altitude_m": ("RelativeAltitude",),
        "gimbal_pitch": ("CameraOrientationNED/Pitch",),
        "gimbal_yaw": ("CameraOrientationNED/Yaw",),
        "gimbal_roll": ("CameraOrientationNED/Roll",),
        "flight_yaw": ("VehicleOrientationNED/Yaw", "FlightOrientationNED/Yaw"),
        "flight_pitch": ("VehicleOrientationNED/Pitch", "FlightOrientationNED/Pitch"),
        "flight_roll": ("VehicleOrientationNED/Roll", "FlightOrientationNED/Roll"),
        "focal_length_px": ("CalibratedFocalLength/X", "CalibratedFocalLength"),
    },
    # Parrot ANAFI: drone-parrot:CameraPitchDegree… (pitch -90 = nadir, as DJI).
    "parrot": {
        "lat": ("GPSLatitude", "Latitude"),
        "lon": ("GPSLongitude", "Longitude"),
        "altitude_m": ("GPSAltitude", "AbsoluteAltitude"),
        "relative_altitude_m": ("AltitudeAboveTakeOff", "RelativeAltitude"),
        "gimbal_pitch": ("CameraPitchDegree",),
        "gimbal_yaw": ("CameraYawDegree",),
        "gimbal_roll": ("CameraRollDegree",),
        "flight_yaw": ("DroneYawDegree", "FlightYawDegree"),
        "flight_pitch": ("DronePitchDegree", "FlightPitchDegree"),
        "flight_roll": ("DroneRollDegree", "FlightRollDegree"),
    },
    # Autel writes the same drone-dji-style property names.
    "autel": _DJI_STYLE_FIELDS,
    # Pix4D's camera namespace (Parrot Sequoia, Sentera, MicaSense). Its angles use another
    # convention (pitch 0 = nadir), so only the height above ground is taken from it.
    "camera": {"relative_altitude_m": ("AboveGroundAltitude",)},
}

_TIFF_NS = "http://ns.adobe.com/tiff/1.0/"
_XMP_NS = "http://ns.adobe.com/xap/1.0/"


def _family(namespace: str) -> str | None:
    lowered = namespace.lower()
    for name, needles in _FAMILIES:
        if any(n in lowered for n in needles):
            return name
    return None


def _apply_xmp(properties: dict[tuple[str, str], str], tags: Geotags) -> None:
    by_family: dict[str, dict[str, str]] = {}
    for (ns, name), value in properties.items():
        family = _family(ns)
        if family:
            by_family.setdefault(family, {}).setdefault(name, value)

    # XMP values fill what EXIF lacks; where both exist they are compared, not overwritten
    # (EXIF GPS has more digits than DJI's XMP strings).
    for family, fields in _XMP_FIELDS.items():
        props = by_family.get(family)
        if not props:
            continue
        values: dict[str, float] = {}
        for name, candidates in fields.items():
            for candidate in candidates:
                if candidate in props:
                    number = _xmp_number(props[candidate])
                    if number is None:
                        tags.warnings.append(
                            f"XMP {family}:{candidate} is not a number ({props[candidate]!r})"
                        )
                    else:
                        values[name] = number
                    break
        _merge_xmp_values(values, family, tags)

    dji = by_family.get("dji", {})
    if dji.get("ImageSource"):
        tags.image_source = dji["ImageSource"]
    for name, (ns, key) in (
        ("camera_make", (_TIFF_NS, "Make")),
        ("camera_model", (_TIFF_NS, "Model")),
    ):
        if getattr(tags, name) is None and properties.get((ns, key)):
            setattr(tags, name, properties[(ns, key)].strip())
            tags.sources[name] = "xmp"
    if tags.captured_at is None:
        created = properties.get((_XMP_NS, "CreateDate")) or properties.get(
            (_XMP_NS, "DateCreated")
        )
        moment = _xmp_datetime(created, tags.warnings)
        if moment is not None:
            tags.captured_at = moment
            tags.sources["captured_at"] = "xmp"
    elif tags.captured_at.tzinfo is None:
        # EXIF wall time without an offset; an XMP date with the same wall time and an offset
        # (DJI M300 writes one) tells us the zone.
        moment = _xmp_datetime(properties.get((_XMP_NS, "CreateDate")), tags.warnings)
        if (
            moment is not None
            and moment.tzinfo is not None
            and moment.replace(tzinfo=None) == tags.captured_at.replace(microsecond=0)
        ):
            tags.captured_at = tags.captured_at.replace(tzinfo=moment.tzinfo)


def _merge_xmp_values(values: dict[str, float], family: str, tags: Geotags) -> None:
    source = f"xmp:{family}"
    lat, lon = values.pop("lat", None), values.pop("lon", None)
    if lat is not None and lon is not None:
        if tags.lat is None or tags.lon is None:
            tags.lat, tags.lon = lat, lon
            tags.sources["position"] = source
        elif abs(lat - tags.lat) > 1e-4 or abs(lon - tags.lon) > 1e-4:
            tags.warnings.append(
                f"EXIF GPS ({tags.lat:.6f}, {tags.lon:.6f}) and {source} "
                f"({lat:.6f}, {lon:.6f}) disagree: using EXIF"
            )
    altitude = values.pop("altitude_m", None)
    if altitude is not None:
        if tags.altitude_m is None:
            tags.altitude_m = altitude
            tags.sources["altitude_m"] = source
        elif abs(altitude - tags.altitude_m) > 1.0:
            tags.warnings.append(
                f"EXIF GPS altitude {tags.altitude_m:.2f} m and {source} absolute altitude "
                f"{altitude:.2f} m disagree: using EXIF"
            )
    for name, value in values.items():
        previous = tags.sources.get(name)
        # XMP gimbal/flight values are what the vendor documents; they beat maker notes.
        if getattr(tags, name) is None or (previous or "").startswith("makernote"):
            setattr(tags, name, value)
            tags.sources[name] = source
    if family == "dji" and all(
        values.get(k) == 0.0 for k in ("gimbal_pitch", "gimbal_yaw", "gimbal_roll")
    ):
        # Seen on DJI Mini 3 frames that are nadir in fact: the gimbal was not recorded.
        tags.gimbal_suspect = True
        tags.warnings.append(
            "gimbal pitch, yaw and roll are all exactly 0: this camera probably did not "
            "record its gimbal; the camera direction is unknown"
        )


def _xmp_number(text: str) -> float | None:
    text = text.strip()
    try:
        if "/" in text:
            num, den = text.split("/", 1)
            value = float(num) / float(den)
        else:
            value = float(text)
    except (ValueError, ZeroDivisionError):
        return None
    return value if math.isfinite(value) else None


def _xmp_datetime(text: str | None, warnings: list[str]) -> datetime | None:
    if not text:
        return None
    text = text.strip().replace(" ", "T", 1)
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if len(text) <= 10:  # a bare date says nothing about the time of capture
        return None
    return moment if _plausible_time(moment, "XMP CreateDate", warnings) else None


# -- plausibility -------------------------------------------------------------------------


def _check_plausibility(tags: Geotags) -> None:
    warn = tags.warnings.append
    if tags.has_position:
        assert tags.lat is not None and tags.lon is not None
        if not (-90.0 <= tags.lat <= 90.0 and -180.0 <= tags.lon <= 180.0):
            warn(f"GPS position ({tags.lat}, {tags.lon}) is out of range: ignored")
            tags.lat = tags.lon = None
            tags.sources.pop("position", None)
        elif tags.lat == 0.0 and tags.lon == 0.0:
            warn("GPS position is (0, 0): the drone had no fix; ignored")
            tags.lat = tags.lon = None
            tags.sources.pop("position", None)
    else:
        warn("no GPS position in the file")
    if tags.altitude_m is not None and not (
        MIN_ABSOLUTE_ALTITUDE_M <= tags.altitude_m <= MAX_ABSOLUTE_ALTITUDE_M
    ):
        warn(f"absolute altitude {tags.altitude_m:.1f} m is implausible")
    elif tags.altitude_m is not None and tags.altitude_m < 0:
        warn(
            f"absolute altitude is negative ({tags.altitude_m:.1f} m): below sea level, "
            "or a wrong altitude reference; not used for geometry"
        )
    rel = tags.relative_altitude_m
    if rel is not None and not (0.0 < rel <= MAX_RELATIVE_ALTITUDE_M):
        warn(f"relative altitude {rel:.1f} m is implausible for a survey frame")
    for name in ("gimbal_pitch", "flight_pitch"):
        value = getattr(tags, name)
        if value is not None and not -180.0 <= value <= 180.0:
            warn(f"{name} {value} is out of range")
    if tags.gimbal_pitch is not None and tags.gimbal_pitch > 0 and not tags.gimbal_suspect:
        warn(f"gimbal pitch is {tags.gimbal_pitch:+.1f}°: the camera looks above the horizon")
    for name in ("gimbal_yaw", "flight_yaw", "gimbal_roll", "flight_roll"):
        value = getattr(tags, name)
        if value is not None and not -360.0 <= value <= 360.0:
            warn(f"{name} {value} is out of range")
