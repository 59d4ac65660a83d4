"""Done-when for issue 14: a SIMULATED season end to end, through the HTTP API, on SQLite and
PostgreSQL — boundaries, sites, households and 3 years of history imported; priorities;
a season plan; inspections and GPS tracks filed; coverage shows exactly the blind spots left;
the XLSX report opens with openpyxl and its totals equal the records filed.

The county comes from the seeded simulator (labelled a simulation in every file and report).
Which planned cells the patrols visit is chosen here, so the blind spots are known exactly.
"""

from __future__ import annotations

import io
import json
import uuid
from datetime import UTC, datetime, timedelta

import h3
from openpyxl import load_workbook

from plantscout.serve.services.planning import simulate
from plantscout.serve.vocab import Role

CONFIG = simulate.SimConfig(
    seed=7, rows=2, cols=2, households_per_unit=12, years=(2021, 2022, 2023), mean_plantings=5
)
UNIT = "SIM-A1"
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


def _post(service, path, file_path, who, **form):
    with open(file_path, "rb") as handle:
        response = service.client.post(
            path,
            data=form,
            files={"file": (file_path.name, handle.read())},
            headers=service.auth(who),
        )
    assert response.status_code == 200, response.text
    return response.json()


def test_a_simulated_season_end_to_end(service, tmp_path) -> None:
    county = simulate.simulate(CONFIG)
    files = simulate.write_files(county, tmp_path / "sim")
    service.add_key("leader", Role.INSPECTOR, unit=UNIT)
    client = service.client

    # 1. Jurisdiction, registry and three years of history.
    assert _post(service, "/v1/units/import", files["units"], "admin")["created"] == 4
    households = _post(service, "/v1/households/import", files["households"], "reviewer")
    assert households["created"] == len(county.households) == 48
    assert _post(service, "/v1/sites/import", files["sites"], "reviewer")["created"] == len(
        county.sites
    )
    history = _post(
        service, "/v1/history/import", files["history"], "reviewer", source="sim-survey"
    )
    assert history["created"] == len(county.history)

    # 2. Priorities for the season, as of the start of the spring campaign.
    doc = client.get(
        "/v1/priority-areas",
        params={"season": 2024, "as_of": "2024-02-01"},
        headers=service.auth("leader"),
    ).json()
    assert doc["unit"] == UNIT and doc["simulation"] is True
    cells = [f["properties"] for f in doc["features"]]
    n_cells = len(cells)
    planted = {h3.latlng_to_cell(p.lat, p.lon, 9) for p in county.points() if p.unit == UNIT}
    # the top tenth holds cells with history; its share of planted cells beats a random tenth
    top = cells[: max(1, n_cells // 10)]
    assert all(c["reasons"] for c in top)
    hit = sum(c["cell"] in planted for c in top) / len(top)
    assert hit > len(planted & {c["cell"] for c in cells}) / n_cells

    # 3. The season plan: top 20 % of cells swept twice per campaign, past offenders three times.
    put = client.put(
        f"/v1/plans/{UNIT}/2024",
        headers=service.auth("leader"),
        json={
            "name": "2024 禁种铲毒（模拟）",
            "campaigns": CAMPAIGNS,
            "fill": {"top_percent": 20, "cell_sweeps": 2, "offender_sweeps": 3},
        },
    )
    assert put.status_code == 201, put.text
    plan = put.json()
    spring_cells = [
        i["ref"] for i in plan["items"] if i["kind"] == "cell" and i["campaign"] == "spring"
    ]
    assert len(spring_cells) == round(n_cells * 0.2)
    offender_households = [
        i for i in plan["items"] if i["kind"] == "household" and i["campaign"] == "spring"
    ]
    registry = client.get(
        "/v1/households",
        params={"past_offender": "true", "limit": 1000},
        headers=service.auth("leader"),
    ).json()["items"]
    assert {i["ref"] for i in offender_households} == {h["id"] for h in registry}

    # 4. Field work in spring: inspections in the first half of the planned cells (one of them
    #    twice, on two days), and a GPS track through the next two; the rest stay blind spots.
    visited, walked, blind = (
        spring_cells[: len(spring_cells) // 2],
        spring_cells[len(spring_cells) // 2 :][:2],
        None,
    )
    blind = set(spring_cells) - set(visited) - set(walked)
    filed = []
    for k, cell in enumerate(visited):
        lat, lon = h3.cell_to_latlng(cell)
        day = datetime(2024, 3, 4 + k % 10, 2, tzinfo=UTC)
        filed.append(
            service.file(
                "leader", lat=lat, lon=lon, observed_at=day.isoformat(), site_type="farmland"
            )
        )
    lat, lon = h3.cell_to_latlng(visited[0])
    filed.append(service.file("leader", lat=lat, lon=lon, observed_at="2024-03-20T02:00:00+00:00"))
    for n, cell in enumerate(walked):
        lat, lon = h3.cell_to_latlng(cell)
        t0 = datetime(2024, 3, 15 + n, 1, tzinfo=UTC)
        points = [
            {
                "lat": lat + 0.0002 * k,
                "lon": lon,
                "at": (t0 + timedelta(seconds=15 * k)).isoformat(),
                "accuracy_m": 6,
            }
            for k in range(4)
        ]
        r = client.post(
            "/v1/tracks",
            json={"id": str(uuid.uuid4()), "points": points},
            headers=service.auth("leader"),
        )
        assert r.status_code == 201, r.text
    # The reviewer confirms two finds and records their eradication.
    eradicated = {
        filed[0]["id"]: ("confirmed_opium_poppy", 150, 40.0),
        filed[1]["id"]: ("confirmed_cannabis", 25, 6.5),
    }
    for inspection_id, (state, plants, area) in eradicated.items():
        r = client.patch(
            f"/v1/inspections/{inspection_id}",
            headers=service.auth("reviewer"),
            json={
                "review": {"state": state},
                "eradication": {
                    "date": "2024-03-21",
                    "plants": plants,
                    "area_m2": area,
                    "method": "uprooted",
                },
            },
        )
        assert r.status_code == 200, r.text
    # Pledges signed and notices served on the past offenders, through the API.
    for h in registry:
        r = client.patch(
            f"/v1/households/{h['id']}",
            headers=service.auth("leader"),
            json={"pledge_signed_on": "2024-02-20", "notice_served_on": "2024-02-21"},
        )
        assert r.status_code == 200, r.text

    # 5. Coverage of the spring campaign: exactly the planned cells nobody visited are left.
    cov = client.get(
        "/v1/coverage",
        params={"season": 2024, "campaign": "spring", "as_of": "2024-04-01"},
        headers=service.auth("leader"),
    ).json()
    assert set(cov["cells"]["blind_spots"]) == blind
    assert cov["cells"]["planned"] == len(spring_cells)
    assert cov["cells"]["planned_covered"] == len(visited) + len(walked)
    sweeps = {x["ref"]: x for x in cov["repeat_sweeps"] if x["kind"] == "cell"}
    assert sweeps[visited[0]]["done"] == 2 and not sweeps[visited[0]]["overdue"]
    assert all(sweeps[c]["overdue"] for c in spring_cells if c != visited[0])
    layer = client.get(
        "/v1/coverage",
        params={"season": 2024, "campaign": "spring", "format": "geojson", "as_of": "2024-04-01"},
        headers=service.auth("leader"),
    ).json()
    mapped = {
        f["properties"]["cell"]
        for f in layer["features"]
        if f["properties"]["kind"] == "cell" and f["properties"]["status"] == "blind_spot"
    }
    assert mapped == blind and layer["simulation"] is True

    # 6. The spring report as XLSX: its totals equal the records filed above.
    xlsx = client.get(
        "/v1/reports/period",
        params={"campaign": "spring", "season": 2024},
        headers=service.auth("leader"),
    )
    assert xlsx.status_code == 200, xlsx.text
    book = load_workbook(io.BytesIO(xlsx.content))
    summary = book["汇总"]
    header = [c.value for c in summary[1]]
    rows = {
        r[0]: dict(zip(header, r, strict=True))
        for r in summary.iter_rows(min_row=2, values_only=True)
    }
    total = rows["合计 (total)"]
    assert total == {**rows[UNIT], "单位": "合计 (total)"}
    assert total["巡查记录数"] == len(filed)
    days = {f["observed_at"][:10] for f in filed} | {"2024-03-15", "2024-03-16"}
    assert total["巡查人次"] == len(days)  # one officer: one turnout per day
    assert total["铲除次数"] == 2 and total["铲除株数"] == 175 and total["铲除面积(平方米)"] == 46.5
    assert (total["发现罂粟(处)"], total["发现大麻(处)"]) == (1, 1)
    assert total["签订承诺书(户)"] == total["送达告诫书(户)"] == len(registry)
    assert total["覆盖网格数"] == cov["cells"]["covered"]
    notes = {r[0]: r[1] for r in book["说明"].iter_rows(values_only=True)}
    assert "SIMULATION" in notes["数据性质"] and "SIMULATION" in notes["报表"]
    people = list(book["承诺告诫(含个人信息)"].iter_rows(min_row=2, values_only=True))
    assert len(people) == len(registry) and all(str(p[3]).startswith("模拟户主") for p in people)
    assert json.loads(json.dumps(cov))["unit"] == UNIT
