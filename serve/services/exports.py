"""Inspections and targets as CSV, GeoJSON (RFC 7946) and KML, streamed in batches.

Exports read in ``seq`` order in batches of a few hundred rows, so a season's worth of records
streams in constant memory. The encoding is ``plantscout.model.exports``, shared with the drone
scan's outputs: CSV cells a spreadsheet would run as a formula get a leading apostrophe (notes
come from the field and exports are opened in Excel), KML text is XML-safe whatever it holds,
unlocated inspections are GeoJSON features with ``"geometry": null`` and are left off the KML
map (which says how many).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, sessionmaker

from plantscout.model import exports as encoder

from ..models import Inspection, Target
from .filters import InspectionFilter, TargetFilter

BATCH = 500
MEDIA_TYPES = encoder.MEDIA_TYPES
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
    flt: TargetFilter,
    linked: Callable[[Session, list[str]], dict[str, int]],
) -> Iterator[list[tuple[Target, dict[str, Any]]]]:
    for session, rows in _batches(factory, flt.apply(select(Target)), Target.seq):
        counts = linked(session, [r.id for r in rows])
        yield [(r, target_properties(r, counts)) for r in rows]


# -- encoding ------------------------------------------------------------------------------


def _rows(batches: Iterator[list[tuple[Any, dict[str, Any]]]]) -> Iterator[tuple[Any, dict]]:
    for batch in batches:
        yield from batch


def inspection_geometry(row: Inspection) -> dict[str, Any] | None:
    if row.lat is None or row.lon is None:
        return None
    return {"type": "Point", "coordinates": [row.lon, row.lat]}


def target_geometry(row: Target) -> dict[str, Any]:
    return {"type": row.geometry["type"], "coordinates": row.geometry["coordinates"]}


def kml_inspection_name(props: dict[str, Any]) -> str:
    return f"{props['verdict']} · {props['unit']} · {str(props['observed_at'])[:10]}"


def kml_target_name(props: dict[str, Any]) -> str:
    return f"{props['issuer_id']} ({props['status']})"


@dataclass(frozen=True)
class Layer:
    """What differs between the inspection and the target exports; the encoder is shared
    (``plantscout.model.exports``, also used by the drone scan's outputs)."""

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
) -> Iterator[bytes]:
    """Stream one layer as CSV, GeoJSON or KML, in chunks of UTF-8."""
    rows = _rows(batches)
    if fmt == "csv":
        return encoder.chunks(encoder.csv_rows(layer.columns, (p for _, p in rows), bom=True))
    if fmt == "geojson":
        features = (
            {"id": props["id"], "geometry": layer.geometry(row), "properties": props}
            for row, props in rows
        )
        return encoder.chunks(encoder.geojson_features(features))
    placemarks = (
        encoder.Placemark(
            id=props["id"],
            name=layer.name(props),
            style=props[layer.style_key],
            data=props,
            geometry=layer.geometry(row),
        )
        for row, props in rows
    )
    styles = [encoder.KmlStyle(key, colour) for key, colour in layer.colours.items()]
    return encoder.chunks(encoder.kml_document(layer.title, placemarks, styles=styles))
