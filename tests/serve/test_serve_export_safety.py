"""Exports that open cleanly in whatever reads them: KML stays well-formed XML whatever text a
record holds, and no CSV cell (exports or the coverage report) runs as a spreadsheet formula.

Control characters other than NUL are legal in stored text (a notes field pasted from another
program carries them); XML 1.0 forbids most of them, and one used to make a whole KML export
unreadable in Google Earth.
"""

from __future__ import annotations

import csv
import io
import json

from defusedxml import ElementTree
from serve_images import photo

CONTROL = "vertical\x0btab, bell\x07, escape\x1b, backspace\x08"
FORMULA_UNIT = '=HYPERLINK("http://evil.example","open")'


def test_kml_exports_parse_whatever_the_records_hold(service) -> None:
    filed = service.file(photos=[photo("green", seed=31)], notes=CONTROL, lat=21.9, lon=100.5)
    target = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": "T\x01-1",
                "geometry": {"type": "Point", "coordinates": [100.5, 21.9]},
                "properties": {"name": CONTROL, "notes": "<b>&</b>"},
            }
        ],
    }
    imported = service.client.post(
        "/v1/targets/import",
        data={"issuer": "survey"},
        files={"file": ("t.geojson", json.dumps(target).encode(), "application/geo+json")},
        headers=service.auth("admin"),
    )
    assert imported.status_code == 200, imported.text
    ns = {"k": "http://www.opengis.net/kml/2.2"}
    for path in ("/v1/exports/inspections.kml", "/v1/exports/targets.kml"):
        response = service.client.get(path, headers=service.auth("reviewer"))
        assert response.status_code == 200
        root = ElementTree.fromstring(response.content)  # raises on ill-formed XML
        assert root.findall(".//k:Placemark", ns)
    kml = service.client.get("/v1/exports/inspections.kml", headers=service.auth("reviewer"))
    notes = {
        d.find("k:value", ns).text
        for d in ElementTree.fromstring(kml.content).iterfind(".//k:Data[@name='notes']", ns)
    }
    assert any(n.startswith("vertical") and "tab, bell" in n for n in notes)
    # The record itself keeps the text exactly as filed (evidence is never rewritten).
    detail = service.client.get(
        f"/v1/inspections/{filed['id']}", headers=service.auth("reviewer")
    ).json()
    assert detail["notes"] == CONTROL


def test_coverage_csv_cells_never_run_as_formulas(service) -> None:
    filed = service.file(who="reviewer", photos=[photo("green", seed=32)], unit=FORMULA_UNIT)
    assert filed["unit"] == FORMULA_UNIT
    report = service.client.get(
        "/v1/reports/coverage", params={"format": "csv"}, headers=service.auth("reviewer")
    )
    assert report.status_code == 200
    units = [row["unit"] for row in csv.DictReader(io.StringIO(report.text))]
    assert "'" + FORMULA_UNIT in units and FORMULA_UNIT not in units
    export = service.client.get("/v1/exports/inspections.csv", headers=service.auth("reviewer"))
    rows = list(csv.DictReader(io.StringIO(export.text.lstrip("\ufeff"))))
    assert {r["unit"] for r in rows} == {"'" + FORMULA_UNIT}
