"""Inspections and targets as CSV, GeoJSON (RFC 7946) and KML, streamed in batches.

Exports read in ``seq`` order in batches of a few hundred rows, so a season's worth of records
streams in constant memory. CSV cells that a spreadsheet would run as a formula (text starting
with = + - @) get a leading apostrophe: notes come from the field and exports are opened in
Excel. GeoJSON positions are [lon, lat] in WGS 84 with no ``crs`` member (RFC 7946 §4);
unlocated inspections are features with ``"geometry": null`` (§3.2). KML skips them (a
Placemark without a place is useless on a map) and says how many it skipped.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from xml.sax.saxutils import escape

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, sessionmaker

from ..models import Inspection, Target
from .filters import InspectionFilter

BATCH = 500
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "geojson": "application/geo+json",
    "kml": "application/vnd.google-earth.kml+xml",
}
KML_NS = "http://www.opengis.net/kml/2.2"
VERDICT_COLOURS = {  # KML colours are aabbggrr
    "suspected": "ff0000ff",
    "review": "ff00a5ff",
    "clear": "ff00c000",
    "unusable": "ff909090",
}
STATUS_COLOURS = {
    "open": "ff0000ff",
    "checked": "ff00a5ff",
    "cleared": "ff00c000",
    "eradicated": "ff808080",
}

INSPECTION_COLUMNS = (
    "id",
    "observed_at",
    "observed_at_source",
    "received_at",
    "unit",
    "inspector",
    "site_type",
    "lat",
    "lon",
    "accuracy_m",
    "location_source",
    "location_conflict",
    "location_disagreement_m",
    "verdict",
    "opium_poppy_level",
    "cannabis_level",
    "cannabis_probability",
    "review_state",
    "review_label",
    "review_note",
    "reviewed_by",
    "reviewed_at",
    "eradicated_on",
    "eradicated_plants",
    "eradicated_area_m2",
    "eradication_method",
    "target_id",
    "target_issuer_id",
    "photos",
    "photo_sha256",
    "model_name",
    "model_version",
    "model_sha256",
    "notes",
)
TARGET_COLUMNS = (
    "id",
    "issuer",
    "issuer_id",
    "name",
    "status",
    "unit",
    "issued_on",
    "due_on",
    "lat",
    "lon",
    "geometry_type",
    "linked_inspections",
    "notes",
)


def _species(combined: dict[str, Any], key: str) -> dict[str, Any]:
    return next((s for s in combined.get("species", []) if s.get("key") == key), {})


def inspection_properties(row: Inspection, issuer_ids: dict[str, str]) -> dict[str, Any]:
    combined = row.combined or {}
    cannabis = _species(combined, "cannabis")
    return {
        "id": row.id,
        "observed_at": row.observed_at,
        "observed_at_source": row.observed_at_source,
        "received_at": row.received_at,
        "unit": row.unit,
        "inspector": row.inspector,
        "site_type": row.site_type,
        "lat": row.lat,
        "lon": row.lon,
        "accuracy_m": row.accuracy_m,
        "location_source": row.location_source,
        "location_conflict": row.location_conflict,
        "location_disagreement_m": row.location_disagreement_m,
        "verdict": row.verdict,
        "opium_poppy_level": _species(combined, "opium_poppy").get("level"),
        "cannabis_level": cannabis.get("level"),
        "cannabis_probability": cannabis.get("probability"),
        "review_state": row.review_state,
        "review_label": row.review_label,
        "review_note": row.review_note,
        "reviewed_by": row.reviewed_by,
        "reviewed_at": row.reviewed_at,
        "eradicated_on": row.eradicated_on,
        "eradicated_plants": row.eradicated_plants,
        "eradicated_area_m2": row.eradicated_area_m2,
        "eradication_method": row.eradication_method,
        "target_id": row.target_id,
        "target_issuer_id": issuer_ids.get(row.target_id or ""),
        "photos": len(row.photos),
        "photo_sha256": ";".join(p.sha256 for p in row.photos),
        "model_name": row.model_name,
        "model_version": row.model_version,
        "model_sha256": row.model_sha256,
        "notes": row.notes,
    }


def target_properties(row: Target, linked: dict[str, int]) -> dict[str, Any]:
    return {
        "id": row.id,
        "issuer": row.issuer,
        "issuer_id": row.issuer_id,
        "name": row.name,
        "status": row.status,
        "unit": row.unit,
        "issued_on": row.issued_on,
        "due_on": row.due_on,
        "lat": row.lat,
        "lon": row.lon,
        "geometry_type": row.geometry["type"],
        "linked_inspections": linked.get(row.id, 0),
        "notes": row.notes,
    }


# -- batching ----------------------------------------------------------------------------


def started(items: Iterator[Any]) -> Iterator[Any]:
    """The same items, the first one fetched now, inside the request.

    A streamed export sends its 200 and headers before the body; if the first query failed
    only then, the client would get a 200 and a file cut short. Running it before the
    response starts turns any such failure into a proper error status instead.
    """
    try:
        first = next(items)
    except StopIteration:
        return iter(())
    return itertools.chain([first], items)


def _batches(
    factory: sessionmaker[Session], query: Select, seq_column: Any
) -> Iterator[tuple[Session, list[Any]]]:
    """Keyset batches in ``seq`` order, one short read session per batch."""
    last = 0
    while True:
        with factory() as session:
            rows = list(
                session.scalars(query.where(seq_column > last).order_by(seq_column).limit(BATCH))
            )
            if not rows:
                return
            yield session, rows
            last = rows[-1].seq


def inspection_batches(
    factory: sessionmaker[Session], flt: InspectionFilter
) -> Iterator[list[tuple[Inspection, dict[str, Any]]]]:
    for session, rows in _batches(factory, flt.apply(select(Inspection)), Inspection.seq):
        target_ids = {r.target_id for r in rows if r.target_id}
        issuer_ids = (
            dict(
                session.execute(
                    select(Target.id, Target.issuer_id).where(Target.id.in_(target_ids))
                ).all()
            )
            if target_ids
            else {}
        )
        yield [(r, inspection_properties(r, issuer_ids)) for r in rows]


def target_batches(
    factory: sessionmaker[Session],
    query: Select,
    linked: Callable[[Session, list[str]], dict[str, int]],
) -> Iterator[list[tuple[Target, dict[str, Any]]]]:
    for session, rows in _batches(factory, query, Target.seq):
        counts = linked(session, [r.id for r in rows])
        yield [(r, target_properties(r, counts)) for r in rows]


# -- CSV -----------------------------------------------------------------------------------


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(round(value, 7))
    text = str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text  # spreadsheet formula injection guard
    return text


def write_csv(
    columns: tuple[str, ...], batches: Iterator[list[tuple[Any, dict[str, Any]]]]
) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    buffer.write("\ufeff")  # BOM: Excel then reads UTF-8 (Chinese names) correctly
    writer.writerow(columns)
    yield buffer.getvalue()
    for batch in batches:
        buffer.seek(0)
        buffer.truncate()
        for _, props in batch:
            writer.writerow([_cell(props[c]) for c in columns])
        yield buffer.getvalue()


# -- GeoJSON -------------------------------------------------------------------------------


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _round_coords(value: Any) -> Any:
    if isinstance(value, list):
        return [_round_coords(v) for v in value]
    if isinstance(value, float):
        return round(value, 7)
    return value


def write_geojson(
    batches: Iterator[list[tuple[Any, dict[str, Any]]]],
    geometry: Callable[[Any], dict[str, Any] | None],
) -> Iterator[str]:
    yield '{"type":"FeatureCollection","features":['
    first = True
    for batch in batches:
        parts = []
        for row, props in batch:
            feature = {
                "type": "Feature",
                "id": props["id"],
                "geometry": geometry(row),
                "properties": {k: _json_value(v) for k, v in props.items()},
            }
            parts.append(json.dumps(feature, ensure_ascii=False, separators=(",", ":")))
        if parts:
            yield ("" if first else ",") + ",".join(parts)
            first = False
    yield "]}\n"


def inspection_geometry(row: Inspection) -> dict[str, Any] | None:
    if row.lat is None or row.lon is None:
        return None
    return {"type": "Point", "coordinates": [round(row.lon, 7), round(row.lat, 7)]}


def target_geometry(row: Target) -> dict[str, Any]:
    return {"type": row.geometry["type"], "coordinates": _round_coords(row.geometry["coordinates"])}


# -- KML -----------------------------------------------------------------------------------


def _kml_coords(positions: list[list[float]]) -> str:
    return " ".join(f"{p[0]:.7f},{p[1]:.7f}" for p in positions)


def _kml_polygon(rings: list[list[list[float]]]) -> str:
    outer = f"<outerBoundaryIs><LinearRing><coordinates>{_kml_coords(rings[0])}</coordinates></LinearRing></outerBoundaryIs>"
    inner = "".join(
        f"<innerBoundaryIs><LinearRing><coordinates>{_kml_coords(r)}</coordinates></LinearRing></innerBoundaryIs>"
        for r in rings[1:]
    )
    return f"<Polygon>{outer}{inner}</Polygon>"


def _kml_geometry(geometry: dict[str, Any]) -> str:
    kind, coords = geometry["type"], geometry["coordinates"]
    if kind == "Point":
        return f"<Point><coordinates>{coords[0]:.7f},{coords[1]:.7f}</coordinates></Point>"
    if kind == "Polygon":
        return _kml_polygon(coords)
    return "<MultiGeometry>" + "".join(_kml_polygon(p) for p in coords) + "</MultiGeometry>"


def _extended(props: dict[str, Any]) -> str:
    items = "".join(
        f'<Data name="{escape(k)}"><value>{escape(_cell(v))}</value></Data>'
        for k, v in props.items()
        if v is not None
    )
    return f"<ExtendedData>{items}</ExtendedData>"


def write_kml(
    title: str,
    batches: Iterator[list[tuple[Any, dict[str, Any]]]],
    *,
    geometry: Callable[[Any], dict[str, Any] | None],
    name: Callable[[dict[str, Any]], str],
    style: Callable[[dict[str, Any]], str],
    colours: dict[str, str],
) -> Iterator[str]:
    yield f'<?xml version="1.0" encoding="UTF-8"?>\n<kml xmlns="{KML_NS}"><Document><name>{escape(title)}</name>'
    for key, colour in colours.items():
        yield (
            f'<Style id="{key}"><IconStyle><color>{colour}</color></IconStyle>'
            f"<LineStyle><color>{colour}</color><width>2</width></LineStyle>"
            f"<PolyStyle><color>{'66' + colour[2:]}</color></PolyStyle></Style>"
        )
    skipped = 0
    for batch in batches:
        parts = []
        for row, props in batch:
            geom = geometry(row)
            if geom is None:
                skipped += 1
                continue
            parts.append(
                f'<Placemark id="{escape(props["id"])}"><name>{escape(name(props))}</name>'
                f"<styleUrl>#{style(props)}</styleUrl>{_extended(props)}{_kml_geometry(geom)}</Placemark>"
            )
        yield "".join(parts)
    if skipped:
        yield (
            "<Folder><name>Not mapped</name><description>"
            f"{skipped} record(s) without a location are not shown.</description></Folder>"
        )
    yield "</Document></kml>\n"


def kml_inspection_name(props: dict[str, Any]) -> str:
    return f"{props['verdict']} · {props['unit']} · {str(props['observed_at'])[:10]}"


def kml_target_name(props: dict[str, Any]) -> str:
    return f"{props['issuer_id']} ({props['status']})"


@dataclass(frozen=True)
class Layer:
    """What differs between the inspection and the target exports; the writers are shared."""

    title: str
    columns: tuple[str, ...]
    geometry: Callable[[Any], dict[str, Any] | None]
    name: Callable[[dict[str, Any]], str]
    style_key: str  # property whose value picks the KML style (a key of `colours`)
    colours: dict[str, str]


INSPECTIONS = Layer(
    "plantscout inspections",
    INSPECTION_COLUMNS,
    inspection_geometry,
    kml_inspection_name,
    "verdict",
    VERDICT_COLOURS,
)
TARGETS = Layer(
    "plantscout targets", TARGET_COLUMNS, target_geometry, kml_target_name, "status", STATUS_COLOURS
)


def encode(
    fmt: str, batches: Iterator[list[tuple[Any, dict[str, Any]]]], layer: Layer
) -> Iterator[str]:
    """Stream one layer as CSV, GeoJSON or KML."""
    if fmt == "csv":
        return write_csv(layer.columns, batches)
    if fmt == "geojson":
        return write_geojson(batches, layer.geometry)
    return write_kml(
        layer.title,
        batches,
        geometry=layer.geometry,
        name=layer.name,
        style=lambda props: props[layer.style_key],
        colours=layer.colours,
    )
