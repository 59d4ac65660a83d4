"""Survey targets: import (API and CLI), idempotent re-import, derived status, suggestions."""

from __future__ import annotations

import json

from click.testing import CliRunner
from serve_images import photo

from plantscout.cli import cli

SURVEY = {
    "type": "FeatureCollection",
    "features": [
        {  # a field plot outlined on a satellite image, ~110 m × 100 m
            "type": "Feature",
            "id": "SAT-001",
            "properties": {
                "name": "terraces above the village",
                "unit": "unit-a",
                "issued_on": "2025-05-01",
                "due_on": "2025-06-30",
                "confidence": 0.82,
            },
            "geometry": {
                "type": "Polygon",
                "coordinates": [
                    [
                        [102.700, 25.000],
                        [102.701, 25.000],
                        [102.701, 25.001],
                        [102.700, 25.001],
                        [102.700, 25.000],
                    ]
                ],
            },
        },
        {
            "type": "Feature",
            "properties": {"issuer_id": "SAT-002", "unit": "unit-b"},
            "geometry": {"type": "Point", "coordinates": [102.75, 25.05]},
        },
        {
            "type": "Feature",
            "id": "SAT-003",
            "properties": {},
            "geometry": {
                "type": "MultiPolygon",
                "coordinates": [
                    [[[102.8, 25.1], [102.801, 25.1], [102.801, 25.101], [102.8, 25.1]]],
                    [[[102.81, 25.1], [102.811, 25.1], [102.811, 25.101], [102.81, 25.1]]],
                ],
            },
        },
    ],
}


def import_geojson(service, doc=SURVEY, issuer="sat-2025", who="admin"):
    return service.client.post(
        "/v1/targets/import",
        data={"issuer": issuer},
        files={"file": ("survey.geojson", json.dumps(doc).encode())},
        headers=service.auth(who),
    )


def test_geojson_import_is_idempotent_and_updates_changed_targets(service) -> None:
    first = import_geojson(service)
    assert first.status_code == 200, first.text
    assert first.json() | {"ids": None} == {
        "issuer": "sat-2025",
        "total": 3,
        "created": 3,
        "updated": 0,
        "unchanged": 0,
        "ids": None,
    }
    again = import_geojson(service).json()
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 3)
    assert again["ids"] == first.json()["ids"]

    changed = json.loads(json.dumps(SURVEY))
    changed["features"][1]["properties"]["due_on"] = "2025-07-15"
    third = import_geojson(service, changed).json()
    assert (third["created"], third["updated"], third["unchanged"]) == (0, 1, 2)

    # The same issuer id from another issuer is another target.
    other = import_geojson(service, issuer="tip-offs").json()
    assert other["created"] == 3 and set(other["ids"]).isdisjoint(first.json()["ids"])

    listed = service.client.get(
        "/v1/targets", params={"issuer": "sat-2025"}, headers=service.auth("reviewer")
    ).json()["items"]
    by_id = {t["issuer_id"]: t for t in listed}
    assert set(by_id) == {"SAT-001", "SAT-002", "SAT-003"}
    plot = by_id["SAT-001"]
    assert plot["status"] == "open" and plot["unit"] == "unit-a"
    assert plot["properties"] == {"confidence": 0.82}
    assert abs(plot["lat"] - 25.0005) < 1e-9 and abs(plot["lon"] - 102.7005) < 1e-9
    assert by_id["SAT-002"]["due_on"] == "2025-07-15"
    assert plot["geometry"]["type"] == "Polygon"


def test_csv_import_with_bom_and_semicolons(service) -> None:
    data = "\ufeffid;lat;lon;unit;name;source\nTIP-1;25.2;102.9;unit-a;鱼塘边;hotline\n".encode()
    response = service.client.post(
        "/v1/targets/import",
        data={"issuer": "hotline"},
        files={"file": ("tips.csv", data)},
        headers=service.auth("admin"),
    )
    assert response.status_code == 200, response.text
    target = service.client.get(
        f"/v1/targets/{response.json()['ids'][0]}", headers=service.auth("inspector")
    ).json()
    assert target["name"] == "鱼塘边" and target["properties"] == {"source": "hotline"}
    assert target["geometry"] == {"type": "Point", "coordinates": [102.9, 25.2]}


def test_inspectors_see_their_units_targets_and_unassigned_ones(service) -> None:
    import_geojson(service)
    seen = service.client.get("/v1/targets", headers=service.auth("inspector")).json()["items"]
    assert {t["issuer_id"] for t in seen} == {"SAT-001", "SAT-003"}
    other_unit = next(
        t
        for t in service.client.get("/v1/targets", headers=service.auth("reviewer")).json()["items"]
        if t["issuer_id"] == "SAT-002"
    )
    hidden = service.client.get(
        f"/v1/targets/{other_unit['id']}", headers=service.auth("inspector")
    )
    assert hidden.status_code == 404


def test_status_follows_linked_inspections(service) -> None:
    ids = import_geojson(service).json()["ids"]
    plot, point = ids[0], ids[1]
    reviewer = service.auth("reviewer")

    def status(target_id: str) -> str:
        return service.client.get(f"/v1/targets/{target_id}", headers=reviewer).json()["status"]

    assert status(plot) == "open"
    first = service.file(photos=[photo("green", seed=1)], target_id=plot)
    assert status(plot) == "checked"
    second = service.file(photos=[photo("red", seed=2)], target_id=plot)
    for record in (first, second):
        service.client.patch(
            f"/v1/inspections/{record['id']}",
            json={"review": {"state": "lookalike"}},
            headers=reviewer,
        )
    assert status(plot) == "cleared"  # all reviewed, none confirmed

    service.client.patch(
        f"/v1/inspections/{first['id']}",
        json={"review": {"state": "confirmed_cannabis"}},
        headers=reviewer,
    )
    assert status(plot) == "checked"  # confirmed, not yet eradicated
    service.client.patch(
        f"/v1/inspections/{first['id']}",
        json={"eradication": {"date": "2025-06-03", "plants": 12, "method": "burned"}},
        headers=reviewer,
    )
    assert status(plot) == "eradicated"

    # Moving the link moves the status: the plot reverts, the point is now checked.
    service.client.patch(
        f"/v1/inspections/{first['id']}", json={"target_id": point}, headers=reviewer
    )
    assert status(plot) == "cleared" and status(point) == "eradicated"
    service.client.patch(
        f"/v1/inspections/{first['id']}", json={"target_id": None}, headers=reviewer
    )
    assert status(point) == "open"
    audit = service.client.get(f"/v1/inspections/{first['id']}", headers=reviewer).json()["audit"]
    assert audit[-1]["changes"]["target_id"] == [point, None]


def test_nearby_inspections_and_targets_are_suggested(service) -> None:
    ids = import_geojson(service).json()["ids"]
    inside = service.file(photos=[photo("green", seed=3)], lat=25.0005, lon=102.7005)
    near = service.file(photos=[photo("green", seed=4)], lat=25.0025, lon=102.7005)  # ~167 m N
    far = service.file(photos=[photo("green", seed=5)], lat=25.01, lon=102.7005)  # ~1 km N
    assert [s["id"] for s in inside["suggested_targets"]] == [ids[0]]
    assert inside["suggested_targets"][0]["distance_m"] == 0.0
    assert [s["id"] for s in near["suggested_targets"]] == [ids[0]]
    assert 160 < near["suggested_targets"][0]["distance_m"] < 175
    assert far["suggested_targets"] == []

    target = service.client.get(f"/v1/targets/{ids[0]}", headers=service.auth("reviewer")).json()
    assert [s["id"] for s in target["suggested_inspections"]] == [inside["id"], near["id"]]
    # Once linked, an inspection is no longer suggested, and the target is no longer open.
    service.client.patch(
        f"/v1/inspections/{inside['id']}",
        json={"target_id": ids[0]},
        headers=service.auth("reviewer"),
    )
    target = service.client.get(f"/v1/targets/{ids[0]}", headers=service.auth("reviewer")).json()
    assert target["inspection_ids"] == [inside["id"]]
    assert [s["id"] for s in target["suggested_inspections"]] == [near["id"]]
    again = service.client.get(
        f"/v1/inspections/{near['id']}", headers=service.auth("reviewer")
    ).json()
    assert again["suggested_targets"] == []  # only open targets are suggested


def test_cli_import_matches_the_api(service, tmp_path) -> None:
    path = tmp_path / "survey.geojson"
    path.write_text(json.dumps(SURVEY), "utf-8")
    env = {
        "PLANTSCOUT_DATABASE_URL": service.settings.database_url,
        "PLANTSCOUT_DATA_DIR": str(service.settings.data_dir),
    }
    runner = CliRunner()
    result = runner.invoke(cli, ["targets", "import", str(path), "--issuer", "sat-2025"], env=env)
    assert result.exit_code == 0, result.output
    assert "3 new, 0 updated, 0 unchanged" in result.output
    result = runner.invoke(cli, ["targets", "import", str(path), "--issuer", "sat-2025"], env=env)
    assert "0 new, 0 updated, 3 unchanged" in result.output
    api = import_geojson(service).json()
    assert api["unchanged"] == 3
    bad = tmp_path / "bad.csv"
    bad.write_text("id,lat,lon\nA,1,2\nA,1,2\n", "utf-8")
    result = runner.invoke(cli, ["targets", "import", str(bad), "--issuer", "x"], env=env)
    assert result.exit_code != 0 and "appears twice" in result.output
    listed = runner.invoke(cli, ["targets", "list"], env=env)
    assert listed.output.count("sat-2025") == 3
