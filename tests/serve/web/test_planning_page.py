"""Patrol planning in the browser (issue 14): the field page records the patrol's GPS track
while it is open — offline too — and the reviewer's map shows a unit's priority and
coverage layers, with stored text shown as text. Checked against what the service stored.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import h3
import pytest
from playwright.sync_api import Page, expect
from web_pages import sign_in

pytestmark = pytest.mark.browser

UNIT = "城关社区"  # the live server's inspector key belongs to it
HOSTILE = "<img src=x onerror=\"window.__pwned=(window.__pwned||[]).concat('site')\">"


def _post(client, path: str, name: str, body: bytes, **form: str) -> dict:
    response = client.post(path, data=form, files={"file": (name, body, "text/csv")})
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture(scope="module")
def jurisdiction(live_server, here) -> dict:
    """The inspector's unit: a ~2 km square round the mocked phone, one recurring hot spot,
    and a site whose name is markup."""
    lat, lon = here["latitude"], here["longitude"]
    ring = [
        [lon - 0.01, lat - 0.01],
        [lon + 0.01, lat - 0.01],
        [lon + 0.01, lat + 0.01],
        [lon - 0.01, lat + 0.01],
        [lon - 0.01, lat - 0.01],
    ]
    units = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"name": UNIT},
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            }
        ],
    }
    hot = (lat + 0.004, lon - 0.004)
    history = "id,lat,lon,year,outcome\n" + "\n".join(
        f"W{year},{hot[0]},{hot[1]},{year},eradicated" for year in (2022, 2023)
    )
    quoted = '"' + HOSTILE.replace('"', '""') + '"'
    sites = f"id,unit,site_type,lat,lon,name\nWS1,{UNIT},wasteland,{lat - 0.006},{lon + 0.006},{quoted}\n"
    with live_server.client(live_server.keys.admin) as client:
        _post(
            client,
            "/v1/units/import",
            "units.geojson",
            json.dumps(units, ensure_ascii=False).encode(),
        )
        _post(client, "/v1/sites/import", "sites.csv", sites.encode())
        _post(client, "/v1/history/import", "history.csv", history.encode(), source="web-test")
        cells = client.get("/v1/units").json()["items"]
    unit = next(u for u in cells if u["name"] == UNIT)
    return {"cells": unit["cells"], "hot": h3.latlng_to_cell(*hot, 9)}


def _assert_nothing_ran(page: Page) -> None:
    assert page.evaluate("window.__pwned === undefined"), page.evaluate("window.__pwned")
    assert page.locator("#map img[src=x], .leaflet-tooltip img").count() == 0


def test_the_field_page_records_the_track_offline_and_sends_it_once(
    phone, live_server, here, jurisdiction, artifacts: Path
) -> None:
    context = phone()
    page = context.new_page()
    sign_in(page, live_server.keys.inspector)
    page.click(".tabs [data-view=capture]")
    status = page.locator("#track-status")
    expect(status).to_contain_text("本页面开着时记录巡查轨迹")
    page.click("#track-toggle")
    expect(page.locator("#track-toggle")).to_have_attribute("aria-pressed", "true")
    lat, lon = here["latitude"], here["longitude"]
    moves = 5
    for k in range(1, moves + 1):  # ~30 m east each step
        context.set_geolocation({"latitude": lat, "longitude": lon + 0.0003 * k, "accuracy": 6})
        expect(status).to_have_attribute("data-points", re.compile(rf"^({k}|{k + 1})$"))
    recorded = int(status.get_attribute("data-points"))
    page.screenshot(path=str(artifacts / "track-recording-zh.png"))

    with live_server.client(live_server.keys.inspector) as client:
        before = {t["id"] for t in client.get("/v1/tracks").json()["items"]}
        context.set_offline(True)
        page.click("#track-toggle")  # stop: the chunk is sealed and waits for the network
        expect(status).to_have_attribute("data-waiting", "1")
        expect(status).to_contain_text("1 段轨迹待发送")
        assert {t["id"] for t in client.get("/v1/tracks").json()["items"]} == before
        context.set_offline(False)
        # sent by the online event or, failing that, the retry timer
        expect(status).to_have_attribute("data-waiting", "0", timeout=60000)
        tracks = [t for t in client.get("/v1/tracks").json()["items"] if t["id"] not in before]
    assert len(tracks) == 1
    track = tracks[0]
    assert track["unit"] == UNIT and track["points"] == recorded >= moves
    assert 100 < track["distance_m"] < 200 and track["cells"] >= 1
    # Nothing is left to send after a reload, and the recording stays off.
    page.reload()
    page.click(".tabs [data-view=capture]")
    expect(page.locator("#track-toggle")).to_have_attribute("aria-pressed", "false")
    expect(page.locator("#track-status")).to_have_attribute("data-waiting", "0")


def test_the_reviewer_map_shows_priority_and_coverage_layers(
    phone, live_server, jurisdiction, artifacts: Path
) -> None:
    page = phone().new_page()
    sign_in(page, live_server.keys.reviewer)
    page.click("#tab-review")
    page.fill("#l-unit", UNIT)
    page.fill("#l-season", "2024")
    page.click("#l-priority")
    cells = page.locator("#map path.prio")
    expect(cells).to_have_count(jurisdiction["cells"])
    top = page.locator("#map path.prio[data-rank='1']")
    expect(top).to_have_attribute("data-cell", jurisdiction["hot"])
    top.dispatch_event("mouseover")
    tooltip = page.locator(".leaflet-tooltip").last
    expect(tooltip).to_contain_text("#1")
    expect(tooltip).to_contain_text("2 个不同年份在此复种")
    top.dispatch_event("mouseout")
    expect(page.locator("#layer-msg")).to_contain_text(f"{jurisdiction['cells']} 个网格")

    page.click("#l-coverage")
    blind = page.locator("#map path.cov-blind_spot")
    expect(page.locator("#layer-msg")).to_contain_text("盲区网格")
    with live_server.client(live_server.keys.reviewer) as client:
        layer = client.get(
            "/v1/coverage", params={"unit": UNIT, "season": 2024, "format": "geojson"}
        ).json()
    statuses = [
        f["properties"].get("status")
        for f in layer["features"]
        if f["properties"]["kind"] == "cell"
    ]
    expect(blind).to_have_count(statuses.count("blind_spot"))
    assert statuses.count("blind_spot") > 0
    site = page.locator("#map path.cov-site")
    expect(site).to_have_count(1)
    site.dispatch_event("mouseover")
    tip = page.locator(".leaflet-tooltip").last
    expect(tip).to_contain_text(HOSTILE)  # the markup is shown, not run
    expect(tip).to_contain_text("未到场地块")
    _assert_nothing_ran(page)
    page.screenshot(path=str(artifacts / "review-layers-zh.png"))

    page.click("#lang")
    expect(page.locator("#l-priority")).to_have_text("Priority areas")
    expect(page.locator("#layer-msg")).to_contain_text("blind-spot cells")
    page.click("#l-priority")  # off
    expect(cells).to_have_count(0)
    expect(blind).to_have_count(statuses.count("blind_spot"))
    _assert_nothing_ran(page)
