"""The one encoder for every table and map the project writes: CSV, GeoJSON and KML.

The service's exports (inspections, targets) and the drone scan's outputs (detections) both
stream through these functions, so the two guards every consumer needs are written once:

- **CSV cells are safe to open in a spreadsheet.** Text starting with ``= + - @`` (or a tab /
  carriage return) is run as a formula by Excel and LibreOffice; such cells get a leading
  apostrophe, which a spreadsheet shows as text. Notes come from the field, file names from
  drones and phones: neither may run code on an office computer. Numbers are never touched.
- **KML is well-formed XML whatever the text holds.** Characters XML 1.0 forbids (most C0
  controls, lone surrogates, U+FFFE/U+FFFF) would make the whole file unreadable; they become
  U+FFFD, and ``& < > "`` are escaped.

GeoJSON follows RFC 7946: positions are [lon, lat] in WGS 84, no ``crs`` member, features
without a place have ``"geometry": null``; non-finite numbers become null (JSON has neither
NaN nor infinity). KML skips features without a place and says how many it skipped.

Everything here is an iterator of ``str`` pieces (write them to a file, or join them into
chunks for an HTTP stream with :func:`chunks`), pure Python, no torch.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

__all__ = [
    "MEDIA_TYPES",
    "KmlStyle",
    "Placemark",
    "chunks",
    "csv_cell",
    "csv_rows",
    "geojson_features",
    "kml_document",
    "text_value",
    "xml_text",
]

MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "geojson": "application/geo+json",
    "kml": "application/vnd.google-earth.kml+xml",
}
KML_NS = "http://www.opengis.net/kml/2.2"
COORDINATE_DECIMALS = 7  # 1e-7 degrees is about 1 cm: finer digits are noise

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# XML 1.0 Char: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_XML_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"})


# -- values ----------------------------------------------------------------------------------


def text_value(value: Any) -> str:
    """How a value reads in a text cell: '' for None, ISO 8601 times, 7-decimal floats."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(round(value, COORDINATE_DECIMALS)) if math.isfinite(value) else ""
    return str(value)


def csv_cell(value: Any) -> str:
    """A CSV cell that a spreadsheet shows as written (see the module docstring)."""
    text = text_value(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return text  # a number: "-33.9" is data, not a formula
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text


def xml_text(value: Any) -> str:
    """Text for an XML element or attribute: forbidden characters replaced, markup escaped."""
    return _NOT_XML.sub("\ufffd", text_value(value)).translate(_XML_ESCAPES)


def json_value(value: Any) -> Any:
    """A property value for JSON: times as ISO 8601, non-finite numbers as null."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    return value


def chunks(pieces: Iterable[str], size: int = 64 * 1024) -> Iterator[bytes]:
    """UTF-8 chunks of about ``size`` bytes, for an HTTP stream (one send per chunk, not per
    row). Text that is not valid Unicode (a lone surrogate) is replaced, never an error
    half-way through a response."""
    buffer: list[str] = []
    held = 0
    for piece in pieces:
        buffer.append(piece)
        held += len(piece)
        if held >= size:
            yield "".join(buffer).encode("utf-8", "replace")
            buffer, held = [], 0
    if buffer:
        yield "".join(buffer).encode("utf-8", "replace")


# -- CSV ---------------------------------------------------------------------------------------


def csv_rows(
    columns: Sequence[str], rows: Iterable[Mapping[str, Any]], *, bom: bool = False
) -> Iterator[str]:
    """A header and one line per row (``row[column]``, missing keys empty), cells guarded.

    ``bom``: start with a UTF-8 byte-order mark, so Excel reads Chinese names correctly.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    yield ("\ufeff" if bom else "") + buffer.getvalue()
    for row in rows:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([csv_cell(row.get(column)) for column in columns])
        yield buffer.getvalue()


# -- GeoJSON -----------------------------------------------------------------------------------


def round_coordinates(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return [round_coordinates(v) for v in value]
    if isinstance(value, float):
        return round(value, COORDINATE_DECIMALS)
    return value


def geojson_features(features: Iterable[Mapping[str, Any]]) -> Iterator[str]:
    """A FeatureCollection, one feature at a time. Each feature: ``{"type": "Feature",
    "id"?, "geometry": GeoJSON geometry | None, "properties": {...}}``."""
    yield '{"type":"FeatureCollection","features":['
    first = True
    for feature in features:
        out: dict[str, Any] = {"type": "Feature"}
        if feature.get("id") is not None:
            out["id"] = feature["id"]
        geometry = feature.get("geometry")
        out["geometry"] = (
            None
            if geometry is None
            else {**geometry, **_geometry_members(geometry, round_coordinates)}
        )
        out["properties"] = json_value(dict(feature.get("properties") or {}))
        text = json.dumps(out, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        yield text if first else "," + text
        first = False
    yield "]}\n"


def _geometry_members(geometry: Mapping[str, Any], transform: Any) -> dict[str, Any]:
    if geometry["type"] == "GeometryCollection":
        return {
            "geometries": [{**g, **_geometry_members(g, transform)} for g in geometry["geometries"]]
        }
    return {"coordinates": transform(geometry["coordinates"])}


# -- KML ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KmlStyle:
    """A shared style: ``colour`` in KML's aabbggrr order; polygons filled at ``fill_alpha``."""

    id: str
    colour: str
    fill_alpha: str = "66"
    icon: bool = True


@dataclass(frozen=True)
class Placemark:
    """One feature on the map. ``geometry`` is GeoJSON (Point, Polygon, MultiPolygon or a
    GeometryCollection of those); None means the feature has no place and is skipped."""

    name: str
    geometry: Mapping[str, Any] | None
    style: str | None = None
    id: str | None = None
    description: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)  # ExtendedData; None values skipped


def kml_document(
    title: str,
    placemarks: Iterable[Placemark],
    *,
    styles: Sequence[KmlStyle] = (),
    altitude: bool = False,
) -> Iterator[str]:
    """A KML 2.2 document. ``altitude``: write ``lon,lat,0`` (clamped to ground) instead of
    ``lon,lat``."""
    yield (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<kml xmlns="{KML_NS}"><Document>'
        f"<name>{xml_text(title)}</name>"
    )
    for style in styles:
        icon = f"<IconStyle><color>{style.colour}</color></IconStyle>" if style.icon else ""
        yield (
            f'<Style id="{xml_text(style.id)}">{icon}'
            f"<LineStyle><color>{style.colour}</color><width>2</width></LineStyle>"
            f"<PolyStyle><color>{style.fill_alpha}{style.colour[2:]}</color></PolyStyle></Style>"
        )
    skipped = 0
    for mark in placemarks:
        if mark.geometry is None:
            skipped += 1
            continue
        ident = f' id="{xml_text(mark.id)}"' if mark.id is not None else ""
        style = f"<styleUrl>#{xml_text(mark.style)}</styleUrl>" if mark.style else ""
        description = (
            f"<description>{xml_text(mark.description)}</description>" if mark.description else ""
        )
        data = "".join(
            f'<Data name="{xml_text(key)}"><value>{xml_text(value)}</value></Data>'
            for key, value in mark.data.items()
            if value is not None
        )
        extended = f"<ExtendedData>{data}</ExtendedData>" if data else ""
        yield (
            f"<Placemark{ident}><name>{xml_text(mark.name)}</name>{style}{description}"
            f"{extended}{_kml_geometry(mark.geometry, altitude)}</Placemark>"
        )
    if skipped:
        yield (
            "<Folder><name>Not mapped</name><description>"
            f"{skipped} record(s) without a location are not shown.</description></Folder>"
        )
    yield "</Document></kml>\n"


def _kml_positions(positions: Sequence[Sequence[float]], altitude: bool) -> str:
    suffix = ",0" if altitude else ""
    return " ".join(
        f"{p[0]:.{COORDINATE_DECIMALS}f},{p[1]:.{COORDINATE_DECIMALS}f}{suffix}" for p in positions
    )


def _kml_polygon(rings: Sequence[Sequence[Sequence[float]]], altitude: bool) -> str:
    def ring(tag: str, positions: Sequence[Sequence[float]]) -> str:
        coords = _kml_positions(positions, altitude)
        return f"<{tag}><LinearRing><coordinates>{coords}</coordinates></LinearRing></{tag}>"

    inner = "".join(ring("innerBoundaryIs", r) for r in rings[1:])
    return f"<Polygon>{ring('outerBoundaryIs', rings[0])}{inner}</Polygon>"


def _kml_geometry(geometry: Mapping[str, Any], altitude: bool) -> str:
    kind = geometry["type"]
    if kind == "Point":
        coords = _kml_positions([geometry["coordinates"]], altitude)
        return f"<Point><coordinates>{coords}</coordinates></Point>"
    if kind == "Polygon":
        return _kml_polygon(geometry["coordinates"], altitude)
    if kind == "MultiPolygon":
        parts = "".join(_kml_polygon(p, altitude) for p in geometry["coordinates"])
        return f"<MultiGeometry>{parts}</MultiGeometry>"
    if kind == "GeometryCollection":
        parts = "".join(_kml_geometry(g, altitude) for g in geometry["geometries"])
        return f"<MultiGeometry>{parts}</MultiGeometry>"
    raise ValueError(f"KML cannot hold a {kind} geometry here")
