"""Several plants or patches per inspection (issue 13), and "my records" (``mine=true``).

A site can hold a patch of cannabis and two poppy plants; each is filed with its photos,
count, area and growth stage, read back in the record, and bad entries are a 422 that names
them and files nothing. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json

from serve_images import photo


def test_plants_with_their_photos_counts_areas_and_stages(service) -> None:
    photos = [photo("green", seed=1), photo("green", seed=2), photo("red", seed=3)]
    plants = [
        {
            "kind": "patch",
            "count": 40,
            "area_m2": 12.5,
            "growth_stage": "flowering",
            "photos": [0, 1],
        },
        {
            "kind": "plant",
            "count": 1,
            "growth_stage": "fruiting",
            "note": "蒴果已划",
            "photos": [2],
        },
    ]
    record = service.file(photos=photos, plants=json.dumps(plants, ensure_ascii=False))
    assert [p["plant"] for p in record["photos"]] == [0, 0, 1]
    assert record["plants"] == [
        {
            "position": 0,
            "kind": "patch",
            "count": 40,
            "area_m2": 12.5,
            "growth_stage": "flowering",
            "note": None,
            "photos": [0, 1],
        },
        {
            "position": 1,
            "kind": "plant",
            "count": 1,
            "area_m2": None,
            "growth_stage": "fruiting",
            "note": "蒴果已划",
            "photos": [2],
        },
    ]
    again = service.client.get(f"/v1/inspections/{record['id']}", headers=service.auth("reviewer"))
    assert again.json()["plants"] == record["plants"]
    listed = service.client.get("/v1/inspections", headers=service.auth("reviewer")).json()
    assert listed["items"][0]["plants"][0]["count"] == 40
    assert any(e["changes"].get("plants") == 2 for e in again.json()["audit"])
    # without plants, nothing changes for old clients
    plain = service.file()
    assert plain["plants"] == [] and plain["photos"][0]["plant"] is None


BAD = [
    ("not json", "plants"),
    ('{"count": 3}', "plants"),
    ('[{"count": -1, "photos": [0]}]', "plants.0.count"),
    ('[{"growth_stage": "ripe", "photos": [0]}]', "plants.0.growth_stage"),
    ('[{"kind": "forest", "photos": [0]}]', "plants.0.kind"),
    ('[{"photos": [1]}]', "plants.0.photos"),
    ('[{"photos": [0]}, {"photos": [0]}]', "plants.1.photos"),
    ('[{"photos": [0], "colour": "green"}]', "plants.0.colour"),
    # the shared Strict rule (schemas/common.py) refuses NUL for the whole entry, naming the
    # field in its message
    ('[{"photos": [0], "note": "a\\u0000b"}]', "plants.0"),
    (json.dumps([{"photos": []}] * 21), "plants"),
]


def test_bad_plants_are_a_422_that_names_them_and_file_nothing(service) -> None:
    for plants, field in BAD:
        response = service.file(photos=[photo("green", seed=9)], plants=plants, expect=422)
        assert response["error"]["details"][0]["field"] == field, response
        if "u0000" in plants:
            assert "note" in response["error"]["message"], response
    listed = service.client.get("/v1/inspections", headers=service.auth("reviewer")).json()
    assert listed["items"] == []


def test_mine_lists_only_the_records_filed_with_this_key(service) -> None:
    from plantscout.serve.vocab import Role

    service.add_key("colleague", Role.INSPECTOR, unit="unit-a")
    own = service.file("inspector")
    other = service.file("colleague")
    mine = service.client.get(
        "/v1/inspections", params={"mine": "true"}, headers=service.auth("inspector")
    ).json()["items"]
    assert [r["id"] for r in mine] == [own["id"]]
    unit = service.client.get("/v1/inspections", headers=service.auth("inspector")).json()
    assert {r["id"] for r in unit["items"]} == {own["id"], other["id"]}
