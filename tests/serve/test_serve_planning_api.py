"""Patrol planning through the real app on SQLite and PostgreSQL: imports, who sees what,
priorities, plans, tracks, coverage and the period report, and bad input that changes
nothing. The whole simulated season is in test_serve_planning_season.py."""

from __future__ import annotations

import io
import json
import uuid
from datetime import UTC, datetime, timedelta

import h3
import pytest
from openpyxl import load_workbook
from serve_planning_data import (
    HISTORY,
    HOT,
    OFFENDER_PLOT,
    SITES,
    UNITS,
    csv_bytes,
    load_all,
    post_file,
    square,
)

from plantscout.serve.models import AuditEvent, HistoryPoint, Household, PlanUnit, Site


def _count(service, model) -> int:
    with service.services.db.read() as session:
        return session.query(model).count()


def _counts(service) -> dict[str, int]:
    return {m.__name__: _count(service, m) for m in (PlanUnit, Household, Site, HistoryPoint)}


def test_imports_read_gbk_and_chinese_headers_and_reimport_changes_nothing(service) -> None:
    load_all(service)
    assert _counts(service) == {"PlanUnit": 2, "Household": 3, "Site": 4, "HistoryPoint": 4}
    units = service.client.get("/v1/units", headers=service.auth("inspector")).json()["items"]
    assert [u["name"] for u in units] == ["unit-a", "unit-b"]
    # 2 km × 2.2 km ≈ 4.6 km² of ~0.105 km² cells
    assert 38 <= units[0]["cells"] <= 50 and 4.4 < units[0]["area_km2"] < 4.8

    households = service.client.get(
        "/v1/households", params={"unit": "unit-a"}, headers=service.auth("inspector")
    ).json()["items"]
    h1 = next(h for h in households if h["external_id"] == "H1")
    assert h1["head_name"] == "张三" and h1["village_group"] == "第一组"
    assert h1["past_offender"] is True and h1["offence_years"] == [2021]
    assert h1["pledge_signed_on"] == "2024-03-05" and h1["sites"] == 1
    sites = service.client.get("/v1/sites", headers=service.auth("inspector")).json()["items"]
    by_id = {x["external_id"]: x for x in sites}
    assert set(by_id) == {"S1", "S2", "S3"}  # the inspector's own unit by default
    assert by_id["S2"]["site_type"] == "courtyard" and by_id["S1"]["past_offence"] is True
    history = service.client.get(
        "/v1/history", params={"unit": "unit-a", "year": 2021}, headers=service.auth("reviewer")
    ).json()["items"]
    assert [(p["source_id"], p["outcome"], p["species"]) for p in history] == [
        ("P21", "eradicated", "opium_poppy")
    ]

    again = post_file(service, "/v1/households/import", SITES, "x.csv", "reviewer", 422)
    assert "does not look like a household file" in again.json()["error"]["message"]
    audit_before = _count(service, AuditEvent)
    for path, data, form in (
        ("/v1/units/import", json.dumps(UNITS).encode(), {}),
        ("/v1/sites/import", SITES, {}),
        ("/v1/history/import", HISTORY, {"source": "county-survey"}),
    ):
        result = post_file(
            service, path, data, "f.csv" if b"{" not in data[:1] else "f.geojson", "admin", **form
        ).json()
        assert result["unchanged"] == result["total"] and result["created"] == 0
    assert _count(service, AuditEvent) == audit_before


BAD_FILES = [
    pytest.param(
        "/v1/units/import",
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"name": "bow-tie"},
                        "geometry": {
                            "type": "Polygon",
                            "coordinates": [
                                [
                                    [100.9, 22.0],
                                    [100.92, 22.02],
                                    [100.92, 22.0],
                                    [100.9, 22.02],
                                    [100.9, 22.0],
                                ]
                            ],
                        },
                    }
                ],
            }
        ).encode(),
        {},
        "Self-intersection",
        id="self-intersecting boundary",
    ),
    pytest.param(
        "/v1/units/import",
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"name": "grabby"},
                        "geometry": square(100.81, 22.0, 100.83, 22.02),
                    }
                ],
            }
        ).encode(),
        {},
        "overlaps unit 'unit-a'",
        id="overlapping units",
    ),
    pytest.param(
        "/v1/households/import",
        csv_bytes(["id", "unit", "head_name"], [["H7", "unit-zz", "x"]]),
        {},
        "unknown unit 'unit-zz'",
        id="unknown unit",
    ),
    pytest.param(
        "/v1/sites/import",
        csv_bytes(["id", "unit", "lat", "lon"], [["S7", "unit-a", 22.01, 100.835]]),
        {},
        "outside unit 'unit-a'",
        id="site outside its unit",
    ),
    pytest.param(
        "/v1/sites/import",
        csv_bytes(
            ["id", "unit", "lat", "lon", "household"], [["S7", "unit-a", 22.01, 100.81, "H404"]]
        ),
        {},
        "unknown household 'H404'",
        id="unknown household",
    ),
    pytest.param(
        "/v1/history/import",
        csv_bytes(
            ["id", "lat", "lon", "year", "outcome"], [["Q1", 23.5, 101.5, 2022, "confirmed"]]
        ),
        {"source": "s"},
        "outside every unit",
        id="point outside every unit",
    ),
    pytest.param(
        "/v1/history/import",
        csv_bytes(
            ["id", "lat", "lon", "year", "observed_on", "outcome"],
            [["Q1", 22.01, 100.81, 2022, "2021-05-01", "confirmed"]],
        ),
        {"source": "s"},
        "disagree",
        id="year and date disagree",
    ),
    pytest.param(
        "/v1/households/import",
        "id,unit,head_name\nH7,unit-a,Jos\xe9 M\xfcller\n".encode("latin-1"),
        {},
        "neither UTF-8 nor GBK",
        id="latin-1 is not GBK",
    ),
    pytest.param(
        "/v1/households/import",
        b"id,unit,head_name\nH7,unit-a,bad\x00name\n",
        {},
        "NUL",
        id="NUL byte",
    ),
    pytest.param(
        "/v1/households/import",
        csv_bytes(["id", "unit", "notice_served_on"], [["H7", "unit-a", "2999-01-01"]]),
        {},
        "outside 1950–2100",
        id="date out of range",
    ),
]


@pytest.fixture(scope="module")
def loaded(make_module_service):
    """One service for the bad-file tests: each asserts that it changed nothing."""
    service = make_module_service()
    load_all(service)
    return service


@pytest.mark.parametrize(("path", "data", "form", "message"), BAD_FILES)
def test_bad_files_get_a_clear_422_and_change_nothing(loaded, path, data, form, message) -> None:
    service = loaded
    before = _counts(service), _count(service, AuditEvent)
    response = post_file(
        service,
        path,
        data,
        "bad.csv" if b"{" not in data[:1] else "bad.geojson",
        "admin",
        422,
        **form,
    )
    error = response.json()["error"]
    assert message in error["message"] + json.dumps(error["details"], ensure_ascii=False)
    assert (_counts(service), _count(service, AuditEvent)) == before


HOSTILE_REQUESTS = [
    (
        "put",
        "/v1/plans/unit-a/2024",
        {
            "json": {
                "name": "a\x00b",
                "campaigns": [{"key": "s", "starts_on": "2024-02-01", "ends_on": "2024-03-01"}],
            }
        },
        "NUL",
    ),
    (
        "put",
        "/v1/plans/unit-a/2024",
        {"json": {"campaigns": [{"key": "s", "starts_on": "0001-01-01", "ends_on": "2024-03-01"}]}},
        "1950–2100",
    ),
    (
        "post",
        "/v1/tracks",
        {
            "json": {
                "id": str(uuid.uuid4()),
                "points": [{"lat": 22.01, "lon": 100.81, "at": "0001-01-01T00:00:00+14:00"}],
            }
        },
        "1950–2100",
    ),
    (
        "post",
        "/v1/tracks",
        {
            "json": {
                "id": str(uuid.uuid4()),
                "inspector": "x\x00",
                "points": [{"lat": 22.01, "lon": 100.81, "at": "2024-01-01T00:00:00+00:00"}],
            }
        },
        "NUL",
    ),
    ("get", "/v1/priority-areas", {"params": {"season": 2024, "as_of": "0001-01-01"}}, "1950–2100"),
    ("get", "/v1/tracks", {"params": {"until": "9999-12-31"}}, "1950–2100"),
    ("get", "/v1/coverage", {"params": {"season": 2024, "until": "0001-01-01"}}, "1950–2100"),
    ("get", "/v1/reports/period", {"params": {"week": "0001-01-01"}}, "1950–2100"),
    ("get", "/v1/reports/period", {"params": {"month": "2024-13"}}, "YYYY-MM"),
    ("get", "/v1/priority-areas", {"params": {"season": 99999999999}}, "season"),
]


@pytest.mark.parametrize(("method", "path", "kwargs", "message"), HOSTILE_REQUESTS)
def test_hostile_request_values_get_a_4xx_and_change_nothing(loaded, method, path, kwargs, message):
    service = loaded
    before = _counts(service), _count(service, AuditEvent)
    response = getattr(service.client, method)(path, headers=service.auth("inspector"), **kwargs)
    assert response.status_code == 422, response.text
    assert message in response.text
    assert (_counts(service), _count(service, AuditEvent)) == before


def test_personal_data_goes_to_the_unit_and_reviewers_only(service) -> None:
    load_all(service)
    client = service.client
    assert client.get("/v1/households", params={"unit": "unit-a"}).status_code == 401
    denied = client.get(
        "/v1/households", params={"unit": "unit-a"}, headers=service.auth("inspector_b")
    )
    assert denied.status_code == 403
    own = client.get("/v1/households", headers=service.auth("inspector_b")).json()["items"]
    assert [h["head_name"] for h in own] == ["王五"]
    for path in ("/v1/sites", "/v1/history", "/v1/coverage", "/v1/priority-areas"):
        r = client.get(
            path, params={"unit": "unit-a", "season": 2024}, headers=service.auth("inspector_b")
        )
        assert r.status_code == 403, path
    h1 = next(
        h
        for h in client.get(
            "/v1/households", headers=service.auth("reviewer"), params={"unit": "unit-a"}
        ).json()["items"]
        if h["external_id"] == "H1"
    )
    patch = {"notice_served_on": "2024-04-02"}
    assert (
        client.patch(
            f"/v1/households/{h1['id']}", json=patch, headers=service.auth("inspector_b")
        ).status_code
        == 403
    )
    assert post_file(service, "/v1/households/import", HISTORY, "h.csv", "inspector", 403)
    assert post_file(service, "/v1/units/import", b"{}", "u.geojson", "reviewer", 403)
    ok = client.patch(
        f"/v1/households/{h1['id']}",
        json=patch,
        headers={**service.auth("inspector"), "If-Match": f'"{h1["version"]}"'},
    )
    assert ok.status_code == 200 and ok.json()["notice_served_on"] == "2024-04-02"
    stale = client.patch(
        f"/v1/households/{h1['id']}",
        json={"contact": "1"},
        headers={**service.auth("inspector"), "If-Match": f'"{h1["version"]}"'},
    )
    assert stale.status_code == 412
    future = client.patch(
        f"/v1/households/{h1['id']}",
        json={"pledge_signed_on": "2099-01-01"},
        headers=service.auth("inspector"),
    )
    assert future.status_code == 422
    with service.services.db.read() as session:
        events = session.query(AuditEvent).filter_by(entity="household", entity_id=h1["id"]).all()
    assert [e.action for e in events] == ["imported", "updated"]
    assert events[-1].changes == {"notice_served_on": [None, "2024-04-02"]}


def test_priority_areas_rank_the_recurring_hot_spot_first_and_explain_why(service) -> None:
    load_all(service)
    response = service.client.get(
        "/v1/priority-areas",
        params={"season": 2024, "as_of": "2024-03-01"},
        headers=service.auth("inspector"),
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/geo+json")
    doc = response.json()
    assert doc["type"] == "FeatureCollection" and doc["unit"] == "unit-a"
    features = doc["features"]
    assert [f["properties"]["rank"] for f in features] == list(range(1, len(features) + 1))
    scores = [f["properties"]["score"] for f in features]
    assert scores == sorted(scores, reverse=True)
    top = features[0]["properties"]
    assert top["cell"] == h3.latlng_to_cell(*HOT, 9)
    codes = [r["code"] for r in top["reasons"]]
    assert codes[:2] == ["history", "recurrence"]
    assert "2021–2023" in top["reasons"][0]["zh"] and "2021–2023" in top["reasons"][0]["en"]
    assert top["last_patrolled"] is None
    offender_cell = h3.latlng_to_cell(*OFFENDER_PLOT, 9)
    offender = next(f["properties"] for f in features if f["properties"]["cell"] == offender_cell)
    assert "offenders" in [r["code"] for r in offender["reasons"]]
    ring = features[0]["geometry"]["coordinates"][0]
    assert ring[0] == ring[-1] and len(ring) == 7

    # An inspection in the hot cell shows as its last patrol, and lowers its staleness.
    service.file(lat=HOT[0], lon=HOT[1], observed_at="2024-02-20T09:00:00+00:00")
    again = service.client.get(
        "/v1/priority-areas",
        params={"season": 2024, "as_of": "2024-03-01", "limit": 5},
        headers=service.auth("inspector"),
    ).json()
    hot = next(f["properties"] for f in again["features"] if f["properties"]["cell"] == top["cell"])
    assert hot["last_patrolled"] == "2024-02-20" and hot["score"] < top["score"]
    assert len(again["features"]) == 5
    # The service's own confirmed finds are history too, read live: a confirmed inspection
    # at a fresh spot in 2024 ranks its cell for 2025, with the find as its reason.
    fresh = (22.016, 100.804)
    found = service.file(lat=fresh[0], lon=fresh[1], observed_at="2024-06-01T03:00:00+00:00")
    confirmed = service.client.patch(
        f"/v1/inspections/{found['id']}",
        json={"review": {"state": "confirmed_opium_poppy"}},
        headers=service.auth("reviewer"),
    )
    assert confirmed.status_code == 200
    next_year = service.client.get(
        "/v1/priority-areas",
        params={"season": 2025, "as_of": "2025-01-10"},
        headers=service.auth("inspector"),
    ).json()
    cell = next(
        f["properties"]
        for f in next_year["features"]
        if f["properties"]["cell"] == h3.latlng_to_cell(*fresh, 9)
    )
    assert cell["features"]["history"] > 0 and "(2024)" in cell["reasons"][0]["en"]
    missing = service.client.get(
        "/v1/priority-areas",
        params={"season": 2024, "unit": "unit-zz"},
        headers=service.auth("reviewer"),
    )
    assert missing.status_code == 404 and "import" in missing.json()["error"]["message"]


CAMPAIGNS = [
    {
        "key": "spring",
        "name": "春季预防",
        "kind": "prevent",
        "starts_on": "2024-02-01",
        "ends_on": "2024-03-31",
    },
    {
        "key": "summer",
        "name": "夏季铲除",
        "kind": "eradicate",
        "starts_on": "2024-04-01",
        "ends_on": "2024-06-30",
    },
]


def test_plans_are_checked_filled_replaced_and_audited(service) -> None:
    load_all(service)
    client = service.client
    hot_cell = h3.latlng_to_cell(*HOT, 9)
    outside = h3.latlng_to_cell(22.01, 100.83, 9)  # unit-b
    bad_bodies = [
        ({"campaigns": [{**CAMPAIGNS[0], "ends_on": "2024-01-01"}]}, "before starts_on"),
        (
            {
                "campaigns": CAMPAIGNS,
                "items": [{"kind": "cell", "ref": outside, "campaign": "spring"}],
            },
            "outside unit 'unit-a'",
        ),
        (
            {
                "campaigns": CAMPAIGNS,
                "items": [{"kind": "household", "ref": "H404", "campaign": "spring"}],
            },
            "unknown household 'H404'",
        ),
        (
            {
                "campaigns": CAMPAIGNS,
                "items": [{"kind": "site", "ref": "S9", "campaign": "spring"}],
            },
            "unknown site 'S9'",
        ),
        (
            {
                "campaigns": CAMPAIGNS,
                "items": [
                    {
                        "kind": "cell",
                        "ref": hot_cell,
                        "campaign": "spring",
                        "starts_on": "2024-03-10",
                        "due_on": "2024-03-01",
                    }
                ],
            },
            "before starts_on",
        ),
        (
            {
                "campaigns": CAMPAIGNS,
                "items": [{"kind": "cell", "ref": "nonsense", "campaign": "spring"}],
            },
            "not an H3 cell",
        ),
        ({"campaigns": [{**CAMPAIGNS[0], "ends_on": "2025-01-10"}]}, "not in season 2024"),
        (
            {
                "campaigns": CAMPAIGNS,
                "items": [{"kind": "cell", "ref": hot_cell, "campaign": "autumn"}],
            },
            "unknown campaign",
        ),
    ]
    for body, message in bad_bodies:
        r = client.put("/v1/plans/unit-a/2024", json=body, headers=service.auth("inspector"))
        assert r.status_code == 422, (body, r.text)
        assert message in json.dumps(r.json(), ensure_ascii=False), (message, r.text)
    assert client.get("/v1/plans/unit-a/2024", headers=service.auth("inspector")).status_code == 404
    assert (
        client.put(
            "/v1/plans/unit-a/2024",
            json={"campaigns": CAMPAIGNS},
            headers=service.auth("inspector_b"),
        ).status_code
        == 403
    )

    body = {
        "name": "2024 禁种铲毒",
        "campaigns": CAMPAIGNS,
        "items": [{"kind": "cell", "ref": hot_cell, "campaign": "summer", "sweeps": 4}],
        "fill": {"top_percent": 10, "cell_sweeps": 2, "offender_sweeps": 3},
    }
    created = client.put("/v1/plans/unit-a/2024", json=body, headers=service.auth("inspector"))
    assert created.status_code == 201, created.text
    plan = created.json()
    n_cells = next(
        u["cells"]
        for u in client.get("/v1/units", headers=service.auth("inspector")).json()["items"]
        if u["name"] == "unit-a"
    )
    top = round(n_cells * 0.10)
    # the listed hot cell keeps its 4 sweeps in summer; fill adds the top cells to both campaigns
    cells = [i for i in plan["items"] if i["kind"] == "cell"]
    assert len(cells) == 2 * top
    hot_items = {i["campaign"]: i["sweeps"] for i in cells if i["ref"] == hot_cell}
    assert hot_items == {"summer": 4, "spring": 2}
    households = [i for i in plan["items"] if i["kind"] == "household"]
    assert {i["label"] for i in households} == {"H1"} and {i["sweeps"] for i in households} == {3}
    sites = [i for i in plan["items"] if i["kind"] == "site"]
    assert {i["label"] for i in sites} == {"S1"}
    assert plan["version"] == 1 and created.headers["ETag"] == '"1"'

    replaced = client.put(
        "/v1/plans/unit-a/2024",
        json={"campaigns": CAMPAIGNS, "items": body["items"]},
        headers={**service.auth("inspector"), "If-Match": '"1"'},
    )
    assert replaced.status_code == 200 and replaced.json()["version"] == 2
    assert replaced.json()["counts"] == {"cell": 1}
    stale = client.put(
        "/v1/plans/unit-a/2024",
        json={"campaigns": CAMPAIGNS},
        headers={**service.auth("inspector"), "If-Match": '"1"'},
    )
    assert stale.status_code == 412
    listed = client.get("/v1/plans", headers=service.auth("reviewer")).json()["items"]
    assert [(p["unit"], p["season"], p["version"]) for p in listed] == [("unit-a", 2024, 2)]
    with service.services.db.read() as session:
        actions = [
            e.action
            for e in session.query(AuditEvent).filter_by(entity="plan").order_by(AuditEvent.id)
        ]
    assert actions == ["created", "replaced"]


def _track(points, **extra):
    return {"id": str(uuid.uuid4()), "points": points, **extra}


def _walk(start, end, t0, n=12, accuracy=5.0):
    """n fixes 20 s apart from start to end."""
    return [
        {
            "lat": start[0] + (end[0] - start[0]) * k / (n - 1),
            "lon": start[1] + (end[1] - start[1]) * k / (n - 1),
            "at": (t0 + timedelta(seconds=20 * k)).isoformat(),
            "accuracy_m": accuracy,
        }
        for k in range(n)
    ]


def test_tracks_are_idempotent_and_refuse_bad_points(service) -> None:
    load_all(service)
    client = service.client
    t0 = datetime(2024, 4, 10, 2, tzinfo=UTC)
    body = _track(_walk((22.004, 100.803), (22.004, 100.817), t0))
    first = client.post("/v1/tracks", json=body, headers=service.auth("inspector"))
    assert first.status_code == 201, first.text
    track = first.json()
    assert track["unit"] == "unit-a" and track["points"] == 12 == track["used_points"]
    assert 1350 < track["distance_m"] < 1550  # 0.014° of longitude at 22° N ≈ 1.44 km
    assert track["cells"] >= 4
    again = client.post("/v1/tracks", json=body, headers=service.auth("inspector"))
    assert again.status_code == 200 and again.json()["id"] == track["id"]
    other = {**body, "points": body["points"][:5]}
    assert (
        client.post("/v1/tracks", json=other, headers=service.auth("inspector")).status_code == 409
    )
    reversed_points = _track(list(reversed(body["points"])))
    r = client.post("/v1/tracks", json=reversed_points, headers=service.auth("inspector"))
    assert r.status_code == 422 and "out of time order" in r.text
    future = _track(
        _walk((22.004, 100.803), (22.004, 100.804), datetime.now(UTC) + timedelta(hours=2), n=2)
    )
    r = client.post("/v1/tracks", json=future, headers=service.auth("inspector"))
    assert r.status_code == 422 and "in the future" in r.text
    r = client.post(
        "/v1/tracks",
        json=_track(body["points"][:2], unit="unit-b"),
        headers=service.auth("inspector"),
    )
    assert r.status_code == 403
    naive = _track([{"lat": 22.0, "lon": 100.81, "at": "2024-04-10T02:00:00"}])
    assert (
        client.post("/v1/tracks", json=naive, headers=service.auth("inspector")).status_code == 422
    )
    listed = client.get("/v1/tracks", headers=service.auth("inspector")).json()["items"]
    assert [t["id"] for t in listed] == [track["id"]]


def test_coverage_counts_inspections_tracks_sites_households_sweeps_and_targets(service) -> None:
    load_all(service)
    client = service.client
    hot_cell = h3.latlng_to_cell(*HOT, 9)
    s1 = h3.latlng_to_cell(*OFFENDER_PLOT, 9)
    plan = {
        "campaigns": CAMPAIGNS,
        "items": [
            {"kind": "cell", "ref": hot_cell, "campaign": "summer", "sweeps": 3},
            {"kind": "cell", "ref": s1, "campaign": "summer"},
            {
                "kind": "household",
                "ref": "H1",
                "campaign": "summer",
                "sweeps": 2,
                "due_on": "2024-04-30",
            },
            {"kind": "household", "ref": "H2", "campaign": "summer"},
            {"kind": "site", "ref": "S3", "campaign": "summer"},
        ],
    }
    assert (
        client.put(
            "/v1/plans/unit-a/2024", json=plan, headers=service.auth("inspector")
        ).status_code
        == 201
    )
    # Targets: one checked on time, one late, one overdue, one not yet due.
    survey = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": f"T{k}",
                "properties": {"unit": "unit-a", "issued_on": "2024-04-01", "due_on": due},
                "geometry": {"type": "Point", "coordinates": [100.811 + k * 0.001, 22.015]},
            }
            for k, due in enumerate(["2024-04-20", "2024-04-05", "2024-04-10", "2024-06-30"])
        ],
    }
    imported = client.post(
        "/v1/targets/import",
        data={"issuer": "sat"},
        files={"file": ("t.geojson", json.dumps(survey), "application/geo+json")},
        headers=service.auth("admin"),
    ).json()
    t0, t1 = imported["ids"][:2]
    # Hot cell: inspections on two different days (one linked to T0, on time) …
    service.file(lat=HOT[0], lon=HOT[1], observed_at="2024-04-15T03:00:00+00:00", target_id=t0)
    service.file(lat=HOT[0], lon=HOT[1], observed_at="2024-04-15T05:00:00+00:00")
    service.file(lat=HOT[0], lon=HOT[1], observed_at="2024-04-18T03:00:00+00:00", target_id=t1)
    # … and a track that walks past S1 (H1's plot) on 2024-04-12, 10 m from it.
    walk = _walk(
        (OFFENDER_PLOT[0] + 0.00009, 100.812),
        (OFFENDER_PLOT[0] + 0.00009, 100.816),
        datetime(2024, 4, 12, 2, tzinfo=UTC),
    )
    assert (
        client.post("/v1/tracks", json=_track(walk), headers=service.auth("inspector")).status_code
        == 201
    )

    r = client.get(
        "/v1/coverage",
        params={"season": 2024, "campaign": "summer", "as_of": "2024-05-10"},
        headers=service.auth("inspector"),
    )
    assert r.status_code == 200, r.text
    cov = r.json()
    assert (
        cov["window"] == {"since": "2024-04-01", "until": "2024-06-30"}
        and cov["as_of"] == "2024-05-10"
    )
    assert cov["cells"]["planned"] == 2 and cov["cells"]["planned_covered"] == 2
    assert cov["cells"]["blind_spots"] == []
    assert cov["cells"]["covered"] >= 3 and cov["cells"]["jurisdiction"] > 30
    assert cov["sites"] == {
        "planned": 1,
        "covered": 0,
        "share": 0.0,
        "uncovered": [{k: v for k, v in cov["sites"]["uncovered"][0].items()}],
    }
    assert cov["sites"]["uncovered"][0]["external_id"] == "S3"
    assert cov["households"]["planned"] == 2 and cov["households"]["covered"] == 1
    assert [h["external_id"] for h in cov["households"]["uncovered"]] == ["H2"]
    assert cov["households"]["uncovered"][0]["head_name"] == "李四"
    sweeps = {(x["kind"], x["label"]): x for x in cov["repeat_sweeps"]}
    assert sweeps[("cell", hot_cell)]["done"] == 2 and not sweeps[("cell", hot_cell)]["overdue"]
    assert sweeps[("household", "H1")]["done"] == 1 and sweeps[("household", "H1")]["overdue"]
    assert cov["overdue_sweeps"] == 1
    states = {t["issuer_id"]: t["state"] for t in cov["targets"]["items"]}
    assert states == {"T0": "on_time", "T1": "late", "T2": "overdue", "T3": "pending"}

    layer = client.get(
        "/v1/coverage",
        params={"season": 2024, "campaign": "summer", "format": "geojson", "as_of": "2024-05-10"},
        headers=service.auth("inspector"),
    )
    assert layer.headers["content-type"].startswith("application/geo+json")
    features = layer.json()["features"]
    status = {
        f["properties"]["cell"]: f["properties"]["status"]
        for f in features
        if f["properties"]["kind"] == "cell"
    }
    assert status[hot_cell] == "covered" and "blind_spot" not in status.values()
    assert [
        f["properties"]["external_id"] for f in features if f["properties"]["kind"] == "site"
    ] == ["S3"]

    # Without the plan's cells the whole jurisdiction is planned: the rest are blind spots.
    whole = client.get(
        "/v1/coverage",
        params={"season": 2024, "since": "2024-04-01", "until": "2024-04-30"},
        headers=service.auth("inspector"),
    ).json()
    bad = client.get(
        "/v1/coverage",
        params={"season": 2024, "since": "2024-05-01", "until": "2024-04-01"},
        headers=service.auth("inspector"),
    )
    assert bad.status_code == 422 and "out of order" in bad.text
    assert whole["cells"]["planned"] == 2  # the plan still lists cells for April (summer)
    none = client.get(
        "/v1/coverage", params={"season": 2023}, headers=service.auth("inspector")
    ).json()
    assert none["plan_id"] is None and none["cells"]["planned"] == none["cells"]["jurisdiction"]
    assert len(none["cells"]["blind_spots"]) == none["cells"]["jurisdiction"]


def test_period_report_xlsx_csv_and_json_agree_with_the_records(service) -> None:
    load_all(service)
    client = service.client
    a = service.file(lat=HOT[0], lon=HOT[1], observed_at="2024-05-06T03:00:00+00:00")
    b = service.file(lat=22.011, lon=100.812, observed_at="2024-05-07T03:00:00+00:00", photos=None)
    service.file(lat=22.012, lon=100.812, observed_at="2024-05-07T04:00:00+00:00")
    service.file(who="inspector_b", lat=22.01, lon=100.83, observed_at="2024-05-08T04:00:00+00:00")
    for record, state, plants, area in (
        (a, "confirmed_opium_poppy", 120, 30.5),
        (b, "confirmed_cannabis", 15, 4.0),
    ):
        r = client.patch(
            f"/v1/inspections/{record['id']}",
            headers=service.auth("reviewer"),
            json={
                "review": {"state": state},
                "eradication": {
                    "date": "2024-05-09",
                    "plants": plants,
                    "area_m2": area,
                    "method": "uprooted",
                },
            },
        )
        assert r.status_code == 200, r.text
    walk = _walk((22.004, 100.803), (22.004, 100.817), datetime(2024, 5, 8, 2, tzinfo=UTC))
    client.post("/v1/tracks", json=_track(walk), headers=service.auth("inspector"))

    params = {"month": "2024-05", "format": "json"}
    office = client.get(
        "/v1/reports/period", params=params, headers=service.auth("reviewer")
    ).json()
    rows = {r["unit"]: r for r in office["units"]}
    assert set(rows) == {"unit-a", "unit-b"}
    a_row = rows["unit-a"]
    # turnouts: the unit-a inspector on 05-06, 05-07 and (track) 05-08
    assert (a_row["turnouts"], a_row["inspections"]) == (3, 3)
    assert (a_row["found_opium_poppy"], a_row["found_cannabis"]) == (1, 1)
    assert (a_row["eradications"], a_row["plants_eradicated"], a_row["area_eradicated_m2"]) == (
        2,
        135,
        34.5,
    )
    assert 1.3 < a_row["track_km"] < 1.6 and a_row["cells_covered"] >= 5
    assert rows["unit-b"]["inspections"] == 1 and rows["unit-b"]["turnouts"] == 1
    totals = office["totals"]
    assert totals["inspections"] == 4 and totals["plants_eradicated"] == 135
    assert office["households"] == []  # pledges were signed in March

    # An inspector gets their own unit; asking for another is a 403.
    own = client.get(
        "/v1/reports/period", params=params, headers=service.auth("inspector_b")
    ).json()
    assert [r["unit"] for r in own["units"]] == ["unit-b"]
    assert (
        client.get(
            "/v1/reports/period",
            params={**params, "unit": "unit-a"},
            headers=service.auth("inspector_b"),
        ).status_code
        == 403
    )

    xlsx = client.get(
        "/v1/reports/period", params={"month": "2024-05"}, headers=service.auth("reviewer")
    )
    assert xlsx.status_code == 200 and xlsx.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    book = load_workbook(io.BytesIO(xlsx.content))
    assert book.sheetnames == ["汇总", "按品种", "承诺告诫(含个人信息)", "群众举报", "说明"]
    sheet = book["汇总"]
    header = [c.value for c in sheet[1]]
    assert header[:3] == ["单位", "巡查人次", "巡查记录数"]
    values = {
        row[0]: dict(zip(header, row, strict=True))
        for row in sheet.iter_rows(min_row=2, values_only=True)
    }
    assert values["unit-a"]["铲除株数"] == 120 + 15 and values["合计 (total)"]["巡查记录数"] == 4
    species = [r for r in book["按品种"].iter_rows(min_row=2, values_only=True)]
    assert ("unit-a", "罂粟", 1, 1, 120, 30.5) in species
    notes = {r[0]: r[1] for r in book["说明"].iter_rows(values_only=True)}
    assert "个人信息" in notes and "plantscout" in notes["数据性质"]

    march = client.get(
        "/v1/reports/period",
        params={
            "since": "2024-03-01",
            "until": "2024-03-31",
            "format": "csv",
            "table": "households",
        },
        headers=service.auth("reviewer"),
    )
    assert "X-Personal-Data" in march.headers
    lines = march.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("单位,户号") and len(lines) == 3  # H1 and H9 signed in March
    week = client.get(
        "/v1/reports/period",
        params={"week": "2024-05-08", "format": "json"},
        headers=service.auth("reviewer"),
    ).json()
    assert (week["since"], week["until"], week["period"]) == ("2024-05-06", "2024-05-12", "week")
    both = client.get(
        "/v1/reports/period",
        params={"week": "2024-05-08", "month": "2024-05"},
        headers=service.auth("reviewer"),
    )
    assert both.status_code == 422
    backwards = client.get(
        "/v1/reports/period",
        params={"since": "2024-05-08", "until": "2024-05-01"},
        headers=service.auth("reviewer"),
    )
    assert backwards.status_code == 422 and "out of order" in backwards.text


def test_formula_text_in_an_imported_name_stays_text_in_the_xlsx(service) -> None:
    load_all(service)
    hostile = csv_bytes(
        ["id", "unit", "head_name", "pledge_signed_on"],
        [["H5", "unit-a", '=HYPERLINK("http://x","y")', "2024-05-02"]],
    )
    post_file(service, "/v1/households/import", hostile, "h.csv", "reviewer")
    xlsx = service.client.get(
        "/v1/reports/period",
        params={"month": "2024-05", "unit": "unit-a"},
        headers=service.auth("reviewer"),
    )
    assert xlsx.status_code == 200
    book = load_workbook(io.BytesIO(xlsx.content))
    cell = book["承诺告诫(含个人信息)"]["D2"]
    assert cell.value == '=HYPERLINK("http://x","y")' and cell.data_type == "s"
    csv_text = service.client.get(
        "/v1/reports/period",
        params={"month": "2024-05", "unit": "unit-a", "format": "csv", "table": "households"},
        headers=service.auth("reviewer"),
    ).content.decode("utf-8-sig")
    assert "'=HYPERLINK" in csv_text


def test_backtest_endpoint_runs_on_the_office_history(service) -> None:
    load_all(service)
    r = service.client.get(
        "/v1/priority-areas/backtest", params={"year": [2023]}, headers=service.auth("reviewer")
    )
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["years"] == [2023] and out["units"] == ["unit-a", "unit-b"]
    year = out["result"]["years"][0]
    assert year["points"] == 1  # P23 (F23 is a false alarm)
    # P23 sits next to P21 (2021): the ranking built from 2021–2022 puts its cell on top
    assert year["capture"]["priority"]["0.05"] == 1.0
    assert year["capture"]["last_year"]["0.05"] < 0.2  # nothing was found there in 2022
    assert (
        service.client.get(
            "/v1/priority-areas/backtest", headers=service.auth("inspector")
        ).status_code
        == 403
    )
