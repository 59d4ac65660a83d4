"""Reading survey-target files (GeoJSON, CSV) into validated rows, or a list of what is wrong.

A file is accepted whole or not at all: every row is checked first, and a bad one yields a 422
that names its row and issuer id, so an office fixes the file and imports it again. The
issuer's id is kept verbatim: it is how a re-import recognises the targets it already has.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

from ..bounds import JsonRefused, load_json, nul_line
from ..errors import Unprocessable
from ..geo import GeometryError, normalise_geometry

MAX_ROWS = 50_000
MAX_REPORTED_ERRORS = 50
_KNOWN = {
    "id",
    "issuer_id",
    "name",
    "notes",
    "description",
    "issued",
    "issued_on",
    "due",
    "due_on",
    "unit",
    "lat",
    "lon",
    "latitude",
    "longitude",
    "geometry",
}


@dataclass(frozen=True)
class TargetRow:
    issuer_id: str
    geometry: dict[str, Any]
    name: str | None = None
    notes: str | None = None
    issued_on: date | None = None
    due_on: date | None = None
    unit: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)

    def content_hash(self) -> str:
        data = asdict(self)
        blob = json.dumps(data, sort_keys=True, default=str, ensure_ascii=False)
        return hashlib.sha256(blob.encode()).hexdigest()


class _Errors:
    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def add(self, row: int, issuer_id: str | None, message: str) -> None:
        self.items.append({"row": row, "issuer_id": issuer_id, "message": message})

    def raise_if_any(self, what: str) -> None:
        if self.items:
            first = self.items[0]
            raise Unprocessable(
                f"{what}: {len(self.items)} problem(s); first: row {first['row']}: "
                f"{first['message']}. Nothing was imported.",
                details=self.items[:MAX_REPORTED_ERRORS],
            )


def detect_format(filename: str | None, data: bytes) -> str:
    name = (filename or "").lower()
    if name.endswith((".geojson", ".json")):
        return "geojson"
    if name.endswith((".csv", ".txt")):
        return "csv"
    return "geojson" if data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{" else "csv"


def parse_targets(data: bytes, fmt: str) -> list[TargetRow]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Unprocessable("the file is not UTF-8 text") from None
    if (line := nul_line(text)) is not None:
        raise Unprocessable(f"line {line} holds a NUL character: not a text file")
    try:
        rows = _parse_geojson(text) if fmt == "geojson" else _parse_csv(text)
    except csv.Error as exc:  # e.g. a cell longer than the csv module's field limit
        raise Unprocessable(f"the CSV cannot be read: {exc}") from None
    if not rows:
        raise Unprocessable("the file holds no targets")
    return rows


def _text(value: Any, limit: int) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    if len(text) > limit:
        raise ValueError(f"text longer than {limit} characters")
    return text or None


def _date(value: Any, name: str) -> date | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    text = str(value).strip()
    try:
        return date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text).date()
    except ValueError:
        raise ValueError(f"{name} {text!r} is not an ISO 8601 date (YYYY-MM-DD)") from None


def _row(
    issuer_id: Any, geometry: dict[str, Any], props: dict[str, Any], extras: dict[str, Any]
) -> TargetRow:
    ident = _text(issuer_id, 200)
    if not ident:
        raise ValueError("the issuer's id is missing (id / issuer_id)")
    issued = _date(props.get("issued_on", props.get("issued")), "issued_on")
    due = _date(props.get("due_on", props.get("due")), "due_on")
    if issued and due and due < issued:
        raise ValueError(f"due_on {due} is before issued_on {issued}")
    return TargetRow(
        issuer_id=ident,
        geometry=normalise_geometry(geometry),
        name=_text(props.get("name"), 300),
        notes=_text(props.get("notes", props.get("description")), 4000),
        issued_on=issued,
        due_on=due,
        unit=_text(props.get("unit"), 100),
        properties=extras,
    )


def _check_unique(rows: list[tuple[int, TargetRow]], errors: _Errors) -> None:
    seen: dict[str, int] = {}
    for number, row in rows:
        if row.issuer_id in seen:
            errors.add(
                number,
                row.issuer_id,
                f"issuer id appears twice (first in row {seen[row.issuer_id]})",
            )
        else:
            seen[row.issuer_id] = number


def _parse_geojson(text: str) -> list[TargetRow]:
    try:
        doc = load_json(text)  # no NaN, no NUL, bounded nesting (bounds.py)
    except JsonRefused as exc:
        raise Unprocessable(str(exc)) from None
    if isinstance(doc, dict) and doc.get("type") == "Feature":
        features = [doc]
    elif isinstance(doc, dict) and doc.get("type") == "FeatureCollection":
        features = doc.get("features")
        if not isinstance(features, list):
            raise Unprocessable("a FeatureCollection needs a list of features")
    else:
        raise Unprocessable("GeoJSON must be a FeatureCollection or a Feature")
    if len(features) > MAX_ROWS:
        raise Unprocessable(f"more than {MAX_ROWS:,} targets in one file")
    errors, rows = _Errors(), []
    for number, feature in enumerate(features, start=1):
        ident = None
        try:
            if not isinstance(feature, dict) or feature.get("type") != "Feature":
                raise ValueError("not a GeoJSON Feature")
            props = feature.get("properties") or {}
            if not isinstance(props, dict):
                raise ValueError("properties must be an object")
            ident = feature.get("id", props.get("issuer_id", props.get("id")))
            extras = {k: v for k, v in props.items() if k not in _KNOWN}
            rows.append((number, _row(ident, feature.get("geometry"), props, extras)))
        except (ValueError, GeometryError) as exc:
            errors.add(number, None if ident is None else str(ident), str(exc))
    _check_unique(rows, errors)
    errors.raise_if_any("the GeoJSON has bad features")
    return [row for _, row in rows]


def _parse_csv(text: str) -> list[TargetRow]:
    first_line = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=first_line.count)
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        fieldnames = reader.fieldnames
    except csv.Error as exc:
        raise Unprocessable(f"the CSV header cannot be read: {exc}") from None
    header = [h.strip().lower() for h in (fieldnames or [])]
    if not header:
        raise Unprocessable("the CSV has no header row")
    reader.fieldnames = header
    has_point = {"lat", "lon"} <= set(header) or {"latitude", "longitude"} <= set(header)
    if not ({"id", "issuer_id"} & set(header)) or not (has_point or "geometry" in header):
        raise Unprocessable(
            "the CSV header needs an id (or issuer_id) column and lat,lon (or a geometry "
            f"column holding GeoJSON); found: {', '.join(header)}"
        )
    errors, rows = _Errors(), []
    for number, record in _csv_records(reader):
        if number - 1 > MAX_ROWS:
            raise Unprocessable(f"more than {MAX_ROWS:,} targets in one file")
        if None in record:
            errors.add(number, record.get("id"), "more fields than the header has")
            continue
        props = {k: (v.strip() if isinstance(v, str) else v) for k, v in record.items()}
        ident = props.get("issuer_id") or props.get("id")
        try:
            if props.get("geometry"):
                try:
                    geometry = load_json(props["geometry"])
                except JsonRefused as exc:
                    raise ValueError(f"the geometry column is not GeoJSON: {exc}") from None
            else:
                lat = props.get("lat", props.get("latitude"))
                lon = props.get("lon", props.get("longitude"))
                try:
                    geometry = {"type": "Point", "coordinates": [float(lon), float(lat)]}
                except (TypeError, ValueError):
                    raise ValueError(f"lat/lon {lat!r}, {lon!r} are not numbers") from None
            extras = {k: v for k, v in props.items() if k not in _KNOWN and v not in ("", None)}
            rows.append((number, _row(ident, geometry, props, extras)))
        except (ValueError, GeometryError) as exc:
            errors.add(number, ident, str(exc))
    _check_unique(rows, errors)
    errors.raise_if_any("the CSV has bad rows")
    return [row for _, row in rows]


def _csv_records(reader: csv.DictReader) -> Iterator[tuple[int, dict[str, Any]]]:
    """(row number, record); a malformed row (e.g. a cell over the csv module's field limit,
    131 072 characters) is a 422 naming the row, not a 500 from deep inside the reader."""
    number = 1  # the header
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise Unprocessable(
                f"the CSV cannot be read at row {number + 1}: {exc}. Nothing was imported.",
                details=[{"row": number + 1, "issuer_id": None, "message": str(exc)}],
            ) from None
        number += 1
        yield number, record
