"""The one export encoder (CSV / GeoJSON / KML) that the service and the drone outputs share."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import pytest
from defusedxml import ElementTree

from plantscout.model import exports as encoder

NASTY = 'bad\x01\x08\x0b\x0c\x1f\ufffe\ud800 & <tag> "quoted" 中文'


@pytest.mark.parametrize("text", ["=1+2", "+1", "-2", "@SUM(A1)", "\t=x", "\r=x"])
def test_a_cell_a_spreadsheet_would_run_as_a_formula_is_shown_as_text(text: str) -> None:
    assert encoder.csv_cell(text) == "'" + text


@pytest.mark.parametrize(
    ("value", "cell"),
    [(-33.9, "-33.9"), (-5, "-5"), (None, ""), (True, "true"), ("plain", "plain"), (0.1, "0.1")],
)
def test_numbers_and_plain_text_are_left_alone(value, cell: str) -> None:
    assert encoder.csv_cell(value) == cell


def test_csv_rows_guard_every_cell_and_read_back() -> None:
    rows = [{"a": '=HYPERLINK("http://x")', "b": -1.5}, {"a": "ok"}]
    text = "".join(encoder.csv_rows(["a", "b"], rows, bom=True))
    assert text.startswith("\ufeff")
    back = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert back == [{"a": '\'=HYPERLINK("http://x")', "b": "-1.5"}, {"a": "ok", "b": ""}]


def test_kml_is_well_formed_whatever_the_text_holds() -> None:
    marks = [
        encoder.Placemark(
            id=NASTY,
            name=NASTY,
            style="s",
            description=NASTY,
            data={NASTY: NASTY, "when": datetime(2025, 6, 1, tzinfo=UTC), "none": None},
            geometry={"type": "Point", "coordinates": [100.123456789, 21.5]},
        ),
        encoder.Placemark(name="nowhere", geometry=None),
    ]
    styles = [encoder.KmlStyle("s", "ff0000ff")]
    text = "".join(encoder.kml_document(NASTY, marks, styles=styles))
    root = ElementTree.fromstring(text.encode("utf-8"))
    ns = {"k": encoder.KML_NS}
    mark = root.find(".//k:Placemark", ns)
    assert "&" in mark.find("k:name", ns).text and "中文" in mark.find("k:name", ns).text
    assert "\x01" not in mark.find("k:name", ns).text
    assert mark.find(".//k:coordinates", ns).text == "100.1234568,21.5000000"
    assert "1 record(s) without a location" in text


def test_geojson_is_json_with_nulls_for_non_finite_numbers() -> None:
    features = [
        {
            "id": "a",
            "geometry": {"type": "Point", "coordinates": [1.123456789, 2.0]},
            "properties": {"x": float("nan"), "when": datetime(2025, 6, 1, tzinfo=UTC)},
        },
        {"id": "b", "geometry": None, "properties": {"name": NASTY}},
    ]
    data = json.loads("".join(encoder.geojson_features(features)))
    assert data["features"][0]["properties"] == {"x": None, "when": "2025-06-01T00:00:00+00:00"}
    assert data["features"][0]["geometry"]["coordinates"] == [1.1234568, 2.0]
    assert data["features"][1]["geometry"] is None


def test_chunks_are_utf8_even_for_text_that_is_not_unicode() -> None:
    pieces = ["a" * 10, "\ud800", "中"]
    joined = b"".join(encoder.chunks(pieces, size=4))
    assert joined.decode("utf-8") == "a" * 10 + "?" + "中"
