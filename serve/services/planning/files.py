"""Reading the planning import files (GeoJSON and CSV) into checked rows, or a 422 that lists
what is wrong, row by row. A file is accepted whole or not at all.

County offices keep these registries in Excel, so a CSV may be UTF-8 (with or without the
BOM Excel's "CSV UTF-8" writes), GBK / GB18030 (what Excel writes as plain "CSV" on a Chinese
Windows) or UTF-16 (Excel's "Unicode text"); headers may be English or the Chinese an office
types (``户号``, ``村民小组``, ``承诺书签订日期`` …), and values such as ``是`` / ``否``,
``罂粟``, ``已铲除`` or dates like ``2024/5/3`` are understood. Text that decodes as none of
these — or as GB18030 only by producing private-use or control characters, the mark of a
file in some other encoding — is refused, never imported as mojibake.
"""

from __future__ import annotations

import codecs
import csv
import io
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from ...bounds import JsonRefused, load_json, nul_line
from ...errors import Unprocessable

MAX_ROWS = 50_000
MAX_REPORTED_ERRORS = 50
ENCODINGS = ("utf-8", "gb18030", "utf-16")

YES = {"1", "true", "yes", "y", "t", "是", "有", "√", "✓"}
NO = {"0", "false", "no", "n", "f", "否", "无", "", "×"}

COMMON_ALIASES = {
    "编号": "id",
    "issuer_id": "id",
    "source_id": "id",
    "单位": "unit",
    "社区": "unit",
    "村": "unit",
    "纬度": "lat",
    "latitude": "lat",
    "经度": "lon",
    "longitude": "lon",
    "lng": "lon",
    "备注": "notes",
    "description": "notes",
    "名称": "name",
    "模拟": "simulation",
}


class RowErrors:
    """Problems found in a file, by row; ``raise_if_any`` turns them into one 422."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def add(self, row: int, ident: Any, message: str) -> None:
        self.items.append(
            {
                "row": row,
                "id": None if ident in (None, "") else str(ident)[:200],
                "message": message,
            }
        )

    def raise_if_any(self, what: str) -> None:
        if self.items:
            first = self.items[0]
            raise Unprocessable(
                f"{what}: {len(self.items)} problem(s); first: row {first['row']}: "
                f"{first['message']}. Nothing was imported.",
                details=self.items[:MAX_REPORTED_ERRORS],
            )


@dataclass
class RawRow:
    number: int  # CSV line (the header is line 1) or GeoJSON feature (from 1)
    fields: dict[str, Any]
    geometry: Any  # GeoJSON geometry (not yet validated) or None


# -- text ------------------------------------------------------------------------------------

_SUSPECT = re.compile(r"[\ue000-\uf8ff\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd]")


def decode_text(data: bytes, encoding: str | None = None) -> tuple[str, str]:
    """The file's text and the encoding it was read with (see the module docstring)."""
    if encoding:
        name = encoding.lower().replace("_", "-")
        name = {"gbk": "gb18030", "gb2312": "gb18030", "utf8": "utf-8"}.get(name, name)
        if name not in ENCODINGS:
            raise Unprocessable(f"encoding must be one of {', '.join(ENCODINGS)} (or gbk)")
        try:
            return data.decode("utf-8-sig" if name == "utf-8" else name), name
        except UnicodeDecodeError as exc:
            raise Unprocessable(
                f"the file is not {name} text (byte {exc.start}); nothing was imported"
            ) from None
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            pass
    else:
        try:
            return data.decode("utf-8-sig"), "utf-8"
        except UnicodeDecodeError:
            pass
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError:
            text = None
        if text is not None and not _SUSPECT.search(text):
            return text, "gb18030"
    raise Unprocessable(
        "the file is neither UTF-8 nor GBK/GB18030 (nor UTF-16) text; in Excel choose "
        "'CSV UTF-8' when saving. Nothing was imported.",
        details=[{"field": "file", "message": "unknown text encoding"}],
    )


# -- values ----------------------------------------------------------------------------------


def text(value: Any, limit: int, name: str = "text") -> str | None:
    if value is None:
        return None
    if isinstance(value, float | int) and not isinstance(value, bool):
        value = format(value, "g") if isinstance(value, float) else str(value)
    if not isinstance(value, str):
        raise ValueError(f"{name} must be text")
    value = value.strip()
    if "\x00" in value:
        raise ValueError(f"{name} contains a NUL character")
    if len(value) > limit:
        raise ValueError(f"{name} is longer than {limit} characters")
    return value or None


_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")


def day(value: Any, name: str, *, latest: date | None = None) -> date | None:
    """ISO dates and the forms Excel writes in China (2024/5/3, 2024.5.3, 2024年5月3日)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    raw = str(value).strip()
    match = _DATE.match(raw[:10] if re.match(r"^\d{4}-\d\d-\d\dT", raw) else raw)
    if not match:
        raise ValueError(f"{name} {raw[:40]!r} is not a date (YYYY-MM-DD)")
    try:
        result = date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        raise ValueError(f"{name} {raw[:40]!r} is not a calendar date") from None
    if not 1950 <= result.year <= 2100:
        raise ValueError(f"{name} {result} is outside 1950–2100")
    if latest is not None and result > latest:
        raise ValueError(f"{name} {result} is in the future")
    return result


def number(value: Any, name: str, lo: float, hi: float) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a number")
    try:
        result = (
            float(str(value).strip().replace(",", "")) if isinstance(value, str) else float(value)
        )
    except (TypeError, ValueError):
        raise ValueError(f"{name} {str(value)[:40]!r} is not a number") from None
    if not math.isfinite(result) or not lo <= result <= hi:
        raise ValueError(f"{name} {value!r} is outside {lo:g}–{hi:g}")
    return result


def integer(value: Any, name: str, lo: int, hi: int) -> int | None:
    result = number(value, name, lo, hi)
    if result is None:
        return None
    if result != int(result):
        raise ValueError(f"{name} {value!r} is not a whole number")
    return int(result)


def flag(value: Any, name: str) -> bool | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    raw = str(value).strip().lower()
    if raw in YES:
        return True
    if raw in NO:
        return False if raw else None
    raise ValueError(f"{name} {raw[:20]!r} is not yes/no (是/否)")


def years(value: Any, name: str, latest: int) -> list[int]:
    if value is None or value == "":
        return []
    items = value if isinstance(value, list) else re.split(r"[;,，；、\s]+", str(value).strip())
    out = set()
    for item in items:
        if item in ("", None):
            continue
        year = integer(item, name, 1950, latest)
        assert year is not None
        out.add(year)
    return sorted(out)


def choice(value: Any, name: str, allowed: dict[str, str], default: str | None = None) -> str:
    """A closed vocabulary, accepting English keys and the Chinese words in ``allowed``."""
    raw = text(value, 64, name)
    if raw is None:
        if default is None:
            raise ValueError(f"{name} is missing")
        return default
    key = allowed.get(raw.lower()) or allowed.get(raw)
    if key is None:
        choices = sorted({v for v in allowed.values()})
        raise ValueError(f"{name} {raw!r} is not one of {', '.join(choices)}")
    return key


# -- rows ------------------------------------------------------------------------------------


def detect_format(filename: str | None, data: bytes) -> str:
    name = (filename or "").lower()
    if name.endswith((".geojson", ".json")):
        return "geojson"
    if name.endswith((".csv", ".txt", ".tsv")):
        return "csv"
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    return "geojson" if head == b"{" else "csv"


def _canonical(key: str, aliases: dict[str, str]) -> str:
    raw = key.strip().lstrip("\ufeff")
    low = raw.lower()
    return (
        aliases.get(raw)
        or aliases.get(low)
        or COMMON_ALIASES.get(raw)
        or COMMON_ALIASES.get(low)
        or low
    )


def read_rows(
    data: bytes,
    filename: str | None,
    fmt: str | None,
    aliases: dict[str, str],
    encoding: str | None = None,
) -> tuple[list[RawRow], str]:
    """Rows of a GeoJSON FeatureCollection or a CSV, keys mapped to canonical names."""
    body, used = decode_text(data, encoding)
    if (line := nul_line(body)) is not None:
        raise Unprocessable(f"line {line} holds a NUL character: not a text file")
    fmt = fmt or detect_format(filename, data)
    rows = _geojson(body, aliases) if fmt == "geojson" else _csv(body, aliases)
    if not rows:
        raise Unprocessable("the file holds no rows")
    return rows, used


def _geojson(body: str, aliases: dict[str, str]) -> list[RawRow]:
    try:
        doc = load_json(body)  # no NaN, no NUL, bounded nesting (bounds.py)
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
        raise Unprocessable(f"more than {MAX_ROWS:,} rows in one file")
    rows, errors = [], RowErrors()
    for line, feature in enumerate(features, start=1):
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            errors.add(line, None, "not a GeoJSON Feature")
            continue
        props = feature.get("properties") or {}
        if not isinstance(props, dict):
            errors.add(line, None, "properties must be an object")
            continue
        fields = {_canonical(k, aliases): v for k, v in props.items() if isinstance(k, str)}
        if feature.get("id") is not None and fields.get("id") in (None, ""):
            fields["id"] = feature["id"]
        rows.append(RawRow(line, fields, feature.get("geometry")))
    errors.raise_if_any("the GeoJSON has bad features")
    return rows


def _csv(body: str, aliases: dict[str, str]) -> list[RawRow]:
    first_line = body.split("\n", 1)[0]
    delimiter = max(",;\t", key=first_line.count)
    reader = csv.reader(io.StringIO(body, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise Unprocessable("the CSV is empty") from None
    except csv.Error as exc:
        raise Unprocessable(f"the CSV cannot be read: {exc}") from None
    names = [_canonical(h, aliases) for h in header]
    if not any(names):
        raise Unprocessable("the CSV has no header row")
    rows, errors = [], RowErrors()
    try:
        for line, record in enumerate(reader, start=2):
            if line - 1 > MAX_ROWS:
                raise Unprocessable(f"more than {MAX_ROWS:,} rows in one file")
            if not any(cell.strip() for cell in record):
                continue  # blank lines Excel leaves at the end
            if len(record) > len(names):
                errors.add(line, record[0] if record else None, "more fields than the header has")
                continue
            fields = {n: v for n, v in zip(names, record, strict=False) if n}
            geometry = None
            try:
                if fields.get("geometry"):
                    try:
                        geometry = load_json(fields["geometry"])
                    except JsonRefused as exc:
                        raise ValueError(f"the geometry column is not GeoJSON: {exc}") from None
                elif (fields.get("lat") or "").strip() or (fields.get("lon") or "").strip():
                    lat = number(fields.get("lat"), "lat", -90, 90)
                    lon = number(fields.get("lon"), "lon", -180, 180)
                    if lat is None or lon is None:
                        raise ValueError("lat and lon must be given together")
                    geometry = {"type": "Point", "coordinates": [lon, lat]}
            except ValueError as exc:
                errors.add(line, fields.get("id"), str(exc))
                continue
            rows.append(RawRow(line, fields, geometry))
    except csv.Error as exc:
        raise Unprocessable(f"the CSV cannot be read: {exc}") from None
    errors.raise_if_any("the CSV has bad rows")
    return rows


def require_columns(rows: list[RawRow], wanted: set[str], what: str) -> None:
    """Refuse a file of another kind (a site list sent as households): it must have at least
    one of the columns that only this kind of file has."""
    present = set().union(*(row.fields for row in rows))
    if not present & wanted:
        raise Unprocessable(
            f"this does not look like a {what} file: it has none of the columns "
            f"{', '.join(sorted(wanted))}; nothing was imported",
            details=[{"field": "file", "message": f"columns found: {', '.join(sorted(present))}"}],
        )


def check_unique(
    rows: list[tuple[int, Any]], key: Callable[[Any], tuple], errors: RowErrors, what: str
) -> None:
    seen: dict[tuple, int] = {}
    for number, row in rows:
        k = key(row)
        if k in seen:
            errors.add(number, k[-1], f"{what} appears twice (first in row {seen[k]})")
        else:
            seen[k] = number
