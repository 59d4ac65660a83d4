"""A whole season in miniature, over HTTP, on SQLite and PostgreSQL.

Targets are imported (GeoJSON from a satellite survey, CSV from a tip-off hotline); three
units file inspections with real photos from ../shared and real drone frames whose EXIF GPS
places them; a reviewer links, reviews and records eradications; then every export is parsed
back and validated, and the coverage report is checked against numbers worked out by hand
below (the story is small enough to count on paper).

Verdicts come from the tiny colour-rule bundle: most real photos are ``unusable`` to it, so
each inspection also carries a synthetic photo whose colour sets the verdict the story needs;
the test first asserts that each verdict came out as planned.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from serve_images import photo

from plantscout.serve.vocab import Role

SEASON = {"since": "2024-05-01", "until": "2024-09-30"}
HEMP_0687 = (40.082808, -88.2127955277778)  # EXIF GPS of the two hemp drone frames
HEMP_0705 = (40.0815426388889, -88.2154435555556)
ODM_0061 = (41.5485961666667, -83.6986487777778)
KML = "{http://www.opengis.net/kml/2.2}"


def _square(lat: float, lon: float, half: float) -> dict:
    ring = [
        [lon - half, lat - half],
        [lon + half, lat - half],
        [lon + half, lat + half],
        [lon - half, lat + half],
        [lon - half, lat - half],
    ]
    return {"type": "Polygon", "coordinates": [ring]}


def _point(lat: float, lon: float) -> dict:
    return {"type": "Point", "coordinates": [lon, lat]}


SURVEY = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "id": "SAT-T1",
            "properties": {"unit": "unit-a", "issued_on": "2024-05-01", "name": "hemp plot"},
            "geometry": _square(*HEMP_0687, 0.0005),
        },
        {
            "type": "Feature",
            "id": "SAT-T2",
            "properties": {"unit": "unit-a", "issued_on": "2024-05-01"},
            "geometry": _point(40.08150, -88.21540),  # ~5 m from frame 0705
        },
        {
            "type": "Feature",
            "id": "SAT-T3",
            "properties": {"unit": "unit-b", "issued_on": "2024-06-01"},
            "geometry": _point(41.5486, -83.6987),
        },
        {
            "type": "Feature",
            "id": "SAT-T4",
            "properties": {"unit": "unit-b", "issued_on": "2024-06-01"},
            "geometry": _point(41.60, -83.60),
        },
        {
            "type": "Feature",
            "id": "SAT-T5",
            "properties": {"unit": "unit-c", "issued_on": "2024-10-15"},
            "geometry": _point(30.0, 100.0),
        },
        {
            "type": "Feature",
            "id": "SAT-T6",
            "properties": {"issued_on": "2024-05-01"},
            "geometry": _square(35.0, 110.0, 0.001),
        },
    ],
}
TIPS_CSV = (
    "id,lat,lon,unit,issued_on,notes\nTIP-1,25.0431,102.7065,unit-c,2024-07-20,seen from the road\n"
)


@pytest.fixture
def office(make_service):
    service = make_service()
    service.add_key("inspector_c", Role.INSPECTOR, unit="unit-c")
    return service


def test_a_season_in_miniature(office, real_photo, drone_fixtures: Path, tmp_path: Path) -> None:
    admin, reviewer = office.auth("admin"), office.auth("reviewer")
    client = office.client

    # -- targets ------------------------------------------------------------------------
    survey = client.post(
        "/v1/targets/import",
        data={"issuer": "sat-2024"},
        files={"file": ("survey.geojson", json.dumps(SURVEY).encode())},
        headers=admin,
    ).json()
    tips = client.post(
        "/v1/targets/import",
        data={"issuer": "hotline"},
        files={"file": ("tips.csv", TIPS_CSV.encode())},
        headers=admin,
    ).json()
    assert survey["created"] == 6 and tips["created"] == 1
    t1, t2, t3, _t4, _t5, _t6 = survey["ids"]
    tip1 = tips["ids"][0]

    # -- inspections --------------------------------------------------------------------
    def read(path: Path) -> bytes:
        return path.read_bytes()

    drone = {p.name: p.read_bytes() for p in drone_fixtures.glob("*.JPG")}
    drone["thermal_dji_h20t.jpg"] = (drone_fixtures / "thermal_dji_h20t.jpg").read_bytes()
    filed = {}
    filed["A1"] = office.file(
        "inspector",
        [drone["hemp_dji_mini3_DJI_0687.JPG"], photo("green", seed=1)],
        target_id=t1,
        site_type="farmland",
    )
    filed["A2"] = office.file(
        "inspector",
        [
            drone["hemp_dji_mini3_DJI_0705.JPG"],
            read(real_photo("cannabis", 0)),
            photo("green", seed=2),
        ],
    )
    filed["A3"] = office.file(
        "inspector",
        [read(real_photo("ornamental_poppy", 0))],
        lat=40.09,
        lon=-88.20,
        accuracy_m=6,
        observed_at="2024-06-10T09:00:00+08:00",
        site_type="courtyard",
    )
    filed["A4"] = office.file(
        "inspector",
        [photo("blue", seed=4)],
        lat=40.1,
        lon=-88.1,
        observed_at="2024-04-20T09:00:00+00:00",  # before the season
    )
    filed["B1"] = office.file(
        "inspector_b",
        [drone["odm_dji_inspire1_DJI_0061.JPG"], photo("green", seed=5)],
        observed_at="2024-07-01T10:00:00+00:00",
        target_id=t3,
    )
    filed["B2"] = office.file(
        "inspector_b",
        [drone["odm_dji_phantom3_1JI_0064.JPG"], photo("red", seed=6)],
        observed_at="2024-07-02T10:00:00+00:00",
        target_id=t3,
    )
    filed["B3"] = office.file(
        "inspector_b",
        [read(real_photo("background", 0))],
        lat=41.7,
        lon=-83.5,
        observed_at="2024-07-03T10:00:00+00:00",
        site_type="wasteland",
    )
    filed["C1"] = office.file(
        "inspector_c",
        [read(real_photo("cannabis", 1)), photo("green", seed=7)],
        lat=25.0432,
        lon=102.7064,
        accuracy_m=4,
        observed_at="2024-08-01T08:30:00+08:00",
        target_id=tip1,
        site_type="remote_plot",
    )
    filed["C2"] = office.file(
        "inspector_c",
        [drone["thermal_dji_h20t.jpg"]],
        observed_at="2024-08-02T08:30:00+08:00",
        site_type="forest",
    )
    verdicts = {k: v["verdict"] for k, v in filed.items()}
    assert verdicts == {
        "A1": "suspected",
        "A2": "suspected",
        "A3": "review",
        "A4": "clear",
        "B1": "suspected",
        "B2": "review",
        "B3": "clear",
        "C1": "suspected",
        "C2": "clear",
    }, "the tiny bundle's colour rule no longer gives the verdicts this story assumes"

    # Drone EXIF placed the records; the capture time dated A1 and A2.
    a1, a2 = filed["A1"], filed["A2"]
    assert a1["location"]["source"] == "photo"
    assert (a1["location"]["lat"], a1["location"]["lon"]) == pytest.approx(HEMP_0687, abs=1e-6)
    assert (
        a1["observed_at"].startswith("2024-08-13T06:12:34") and a1["observed_at_source"] == "photo"
    )
    assert (filed["B1"]["location"]["lat"], filed["B1"]["location"]["lon"]) == pytest.approx(
        ODM_0061, abs=1e-6
    )
    # A2 was filed without a target; the survey point 5 m away is suggested.
    assert [s["id"] for s in a2["suggested_targets"]] == [t2]
    assert a2["suggested_targets"][0]["distance_m"] < 10

    # -- review and eradication -----------------------------------------------------------
    def patch(key: str, body: dict) -> dict:
        response = client.patch(f"/v1/inspections/{filed[key]['id']}", json=body, headers=reviewer)
        assert response.status_code == 200, response.text
        return response.json()

    patch("A1", {"review": {"state": "confirmed_cannabis", "note": "hemp-type cannabis"}})
    patch(
        "A1",
        {
            "eradication": {
                "date": "2024-08-15",
                "plants": 120,
                "area_m2": 300,
                "method": "uprooted",
            }
        },
    )
    patch("A2", {"target_id": t2})
    patch("A2", {"review": {"state": "confirmed_cannabis"}})
    patch("A2", {"eradication": {"date": "2024-10-02", "plants": 40, "method": "cut"}})
    patch("A3", {"review": {"state": "lookalike", "note": "Papaver rhoeas: hairy stem"}})
    patch("B1", {"review": {"state": "confirmed_cannabis"}})
    patch("B2", {"review": {"state": "not_target"}})
    patch("C1", {"review": {"state": "confirmed_cannabis"}})
    final_c1 = patch(
        "C1",
        {"eradication": {"date": "2024-08-05", "plants": 15, "area_m2": 20, "method": "burned"}},
    )
    assert [a["action"] for a in final_c1["audit"]] == ["created", "updated", "updated"]

    statuses = {
        t["issuer_id"]: t["status"]
        for t in client.get("/v1/targets", headers=reviewer).json()["items"]
    }
    assert statuses == {
        "SAT-T1": "eradicated",
        "SAT-T2": "eradicated",
        "SAT-T3": "checked",  # one confirmed, not yet eradicated
        "SAT-T4": "open",
        "SAT-T5": "open",
        "SAT-T6": "open",
        "TIP-1": "eradicated",
    }

    # -- coverage, counted by hand ----------------------------------------------------------
    # unit-a: T1, T2 assigned and checked (A1, A2 observed 2024-08-13), both eradicated;
    #         A1, A2, A3 in season (A4 is April); 2 suspected, 1 review, 2 confirmed;
    #         plants: A1's 120 (A2's 40 were eradicated in October, after the season).
    # unit-b: T3, T4 assigned; T3 checked; B1-B3: 1 suspected, 1 review, 1 confirmed.
    # unit-c: TIP-1 assigned (T5 is issued after the season), checked, eradicated;
    #         C1, C2: 1 suspected, 1 confirmed; 15 plants on 20 m².
    # SAT-T6 has no unit: in nobody's coverage.
    report = client.get("/v1/reports/coverage", params=SEASON, headers=reviewer)
    assert report.status_code == 200, report.text
    units = {u["unit"]: u for u in report.json()["units"]}
    expected = {
        "unit-a": (2, 2, 2, 3, 2, 1, 2, 120, 300.0),
        "unit-b": (2, 1, 0, 3, 1, 1, 1, 0, 0.0),
        "unit-c": (1, 1, 1, 2, 1, 0, 1, 15, 20.0),
        "(all)": (5, 4, 3, 8, 4, 2, 4, 135, 320.0),
    }
    fields = (
        "targets_assigned",
        "targets_checked",
        "targets_eradicated",
        "inspections",
        "suspected",
        "review",
        "confirmed",
        "plants_eradicated",
        "area_eradicated_m2",
    )
    got = {name: tuple(u[f] for f in fields) for name, u in units.items()}
    got["(all)"] = tuple(report.json()["totals"][f] for f in fields)
    assert got == expected
    one_unit = client.get(
        "/v1/reports/coverage",
        params={**SEASON, "unit": "unit-b", "format": "csv"},
        headers=reviewer,
    )
    rows = list(csv.DictReader(io.StringIO(one_unit.text)))
    assert [r["unit"] for r in rows] == ["unit-b", "(all)"] and rows[0]["inspections"] == "3"

    # -- GeoJSON export: parsed back and validated against RFC 7946 -------------------------
    geo = client.get("/v1/exports/inspections.geojson", params=SEASON, headers=reviewer)
    assert geo.headers["content-type"].startswith("application/geo+json")
    collection = geo.json()
    validate_rfc7946(collection)
    features = {f["id"]: f for f in collection["features"]}
    in_season = {k for k in filed if k != "A4"}
    assert set(features) == {filed[k]["id"] for k in in_season}
    a1_feature = features[a1["id"]]
    assert a1_feature["geometry"]["coordinates"] == pytest.approx(
        [HEMP_0687[1], HEMP_0687[0]], abs=1e-7
    )
    assert a1_feature["properties"]["eradicated_plants"] == 120
    assert a1_feature["properties"]["target_issuer_id"] == "SAT-T1"
    assert a1_feature["properties"]["review_state"] == "confirmed_cannabis"
    assert features[filed["C2"]["id"]]["geometry"]["coordinates"] == pytest.approx(
        [-79.7649628055556, 40.5637810833333], abs=1e-7
    )
    only_a = client.get(
        "/v1/exports/inspections.geojson", params=SEASON, headers=office.auth("inspector")
    ).json()
    assert {f["properties"]["unit"] for f in only_a["features"]} == {"unit-a"}

    targets_geo = client.get("/v1/exports/targets.geojson", headers=reviewer).json()
    validate_rfc7946(targets_geo)
    kinds = {f["properties"]["issuer_id"]: f["geometry"]["type"] for f in targets_geo["features"]}
    assert kinds["SAT-T1"] == "Polygon" and kinds["TIP-1"] == "Point"

    # -- KML export: parsed as XML ----------------------------------------------------------
    kml = client.get("/v1/exports/inspections.kml", params=SEASON, headers=reviewer)
    assert kml.headers["content-type"].startswith("application/vnd.google-earth.kml+xml")
    root = ET.fromstring(kml.content)
    assert root.tag == f"{KML}kml"
    placemarks = root.findall(f"{KML}Document/{KML}Placemark")
    assert len(placemarks) == len(in_season)  # every in-season record has a location
    by_id = {p.get("id"): p for p in placemarks}
    coords = by_id[a1["id"]].find(f"{KML}Point/{KML}coordinates").text
    lon, lat = (float(v) for v in coords.split(","))
    assert (lat, lon) == pytest.approx(HEMP_0687, abs=1e-7)
    data = {
        d.get("name"): d.find(f"{KML}value").text
        for d in by_id[a1["id"]].findall(f"{KML}ExtendedData/{KML}Data")
    }
    assert data["verdict"] == "suspected" and data["eradicated_plants"] == "120"
    target_kml = ET.fromstring(client.get("/v1/exports/targets.kml", headers=reviewer).content)
    polygons = target_kml.findall(f".//{KML}Polygon")
    assert len(polygons) == 2  # SAT-T1 and SAT-T6

    # -- CSV export -------------------------------------------------------------------------
    text = client.get("/v1/exports/inspections.csv", params=SEASON, headers=reviewer).text
    assert text.startswith("\ufeff")
    rows = {r["id"]: r for r in csv.DictReader(io.StringIO(text.lstrip("\ufeff")))}
    assert set(rows) == {filed[k]["id"] for k in in_season}
    assert rows[a1["id"]]["eradicated_plants"] == "120"
    assert rows[filed["A3"]["id"]]["review_label"] == "ornamental_poppy"
    assert rows[filed["B3"]["id"]]["site_type"] == "wasteland"
    assert sum(int(r["eradicated_plants"] or 0) for r in rows.values()) == 175

    # -- reviewed records as training data ---------------------------------------------------
    archive = client.get("/v1/exports/training.zip", params=SEASON, headers=reviewer)
    assert archive.status_code == 200
    with zipfile.ZipFile(io.BytesIO(archive.content)) as zipped:
        zipped.extractall(tmp_path / "training")
    manifest = tmp_path / "training" / "manifest.csv"
    records = list(csv.DictReader(manifest.open(encoding="utf-8")))
    labels = {}
    for record in records:
        image = (tmp_path / "training" / record["path"]).read_bytes()
        assert hashlib.sha256(image).hexdigest() == record["sha256"]
        labels.setdefault(record["group"].removeprefix("inspection-"), []).append(record["label"])
    # Reviewed in season: A1, A2 (cannabis), A3 (ornamental poppy), B1 (cannabis),
    # B2 (not a target → other plant), C1 (cannabis). A photo per row, all kept.
    assert {k: labels[filed[k]["id"]] for k in ("A1", "A2", "A3", "B1", "B2", "C1")} == {
        "A1": ["cannabis"] * 2,
        "A2": ["cannabis"] * 3,
        "A3": ["ornamental_poppy"],
        "B1": ["cannabis"] * 2,
        "B2": ["other_plant"] * 2,
        "C1": ["cannabis"] * 2,
    }
    drone_rows = [r for r in records if r["kind"] == "drone_frame"]
    assert {r["view"] for r in drone_rows} == {"aerial"}
    # The four DJI frames (A1, A2, B1, B2) carry gimbal / flight data: XMP or maker notes.
    assert len(drone_rows) == 4
    check_manifest_reads_as_a_dataset(manifest)


def check_manifest_reads_as_a_dataset(manifest: Path) -> None:
    """The datasets package reads the export like any other manifest."""
    from plantscout.datasets.records import COLUMNS, read_records

    with open(manifest, newline="", encoding="utf-8") as handle:
        assert tuple(next(csv.reader(handle))) == COLUMNS
    records = read_records(manifest)
    assert records and all(r.path.is_file() for r in records)


def validate_rfc7946(doc: dict) -> None:
    """The parts of RFC 7946 an export can get wrong."""
    assert doc["type"] == "FeatureCollection"
    assert "crs" not in doc  # §4: WGS 84 only, no crs member
    assert isinstance(doc["features"], list)

    def position(p: list) -> None:
        assert len(p) in (2, 3) and all(isinstance(v, int | float) for v in p)
        assert -180 <= p[0] <= 180 and -90 <= p[1] <= 90  # [lon, lat]

    for feature in doc["features"]:
        assert feature["type"] == "Feature"
        assert isinstance(feature["properties"], dict)
        assert isinstance(feature["id"], str | int)
        geometry = feature["geometry"]
        if geometry is None:
            continue
        kind, coords = geometry["type"], geometry["coordinates"]
        if kind == "Point":
            position(coords)
            continue
        polygons = [coords] if kind == "Polygon" else coords
        assert kind in ("Polygon", "MultiPolygon")
        for polygon in polygons:
            for ring in polygon:
                assert len(ring) >= 4 and ring[0] == ring[-1]  # §3.1.6 closed rings
                for p in ring:
                    position(p)
