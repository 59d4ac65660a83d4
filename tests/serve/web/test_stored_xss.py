"""Stored data never runs as code in the page (hardening issue: stored XSS on the review map).

A survey-target file is written by whoever produced the survey; its names and ids travel
through the service into the reviewer's browser, which holds an API key in localStorage. Every
place stored text reaches the DOM — Leaflet tooltips included — must show it as text. The
payloads below would each run a script if any of them were parsed as HTML; the test opens every
view that shows them and checks both that nothing ran and that the text is shown literally.
"""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image
from playwright.sync_api import Page, expect
from web_pages import map_point, sign_in

pytestmark = pytest.mark.browser

PAYLOADS = [
    "<img src=x onerror=\"window.__pwned=(window.__pwned||[]).concat('img')\">",
    "<svg onload=\"window.__pwned=(window.__pwned||[]).concat('svg')\"></svg>",
    "<script>window.__pwned=(window.__pwned||[]).concat('script')</script>",
]
# Far from the other browser tests' records, so the map framing is ours alone.
LAT, LON = 31.2000, 108.4000


def _green_jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), (20, 200, 20)).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def hostile(live_server) -> dict[str, str]:
    """A target file whose names and ids are markup, and a record whose text fields are."""
    features = [
        {
            "type": "Feature",
            "properties": {"id": f"XSS-{i}{payload}", "name": payload},
            "geometry": {"type": "Point", "coordinates": [LON + 0.0005 * i, LAT + 0.0005]},
        }
        for i, payload in enumerate(PAYLOADS)
    ]
    # A target with no name shows its issuer id, which is hostile too.
    features.append(
        {
            "type": "Feature",
            "properties": {"id": PAYLOADS[0]},
            "geometry": {
                "type": "Polygon",
                "coordinates": [
                    [
                        [LON - 0.002, LAT - 0.002],
                        [LON - 0.001, LAT - 0.002],
                        [LON - 0.001, LAT - 0.001],
                        [LON - 0.002, LAT - 0.001],
                        [LON - 0.002, LAT - 0.002],
                    ]
                ],
            },
        }
    )
    with live_server.client(live_server.keys.admin) as client:
        imported = client.post(
            "/v1/targets/import",
            data={"issuer": "xss-survey"},
            files={
                "file": (
                    "t.geojson",
                    json.dumps({"type": "FeatureCollection", "features": features}),
                    "application/geo+json",
                )
            },
        )
        assert imported.status_code in (200, 201), imported.text
    with live_server.client(live_server.keys.inspector) as client:
        filed = client.post(
            "/v1/inspections",
            data={
                "site_type": "courtyard",
                "lat": str(LAT),
                "lon": str(LON),
                "notes": " ".join(PAYLOADS),
                "inspector": PAYLOADS[1],
            },
            files=[("photos", ("green.jpg", _green_jpeg(), "image/jpeg"))],
        )
        assert filed.status_code == 201, filed.text
    return {"record": filed.json()["id"], "unit": filed.json()["unit"]}


def _assert_nothing_ran(page: Page) -> None:
    assert page.evaluate("window.__pwned === undefined"), page.evaluate("window.__pwned")
    # No element the payloads would create exists anywhere in the document.
    assert page.locator("#map img[src=x], #map svg[onload], .leaflet-tooltip img").count() == 0


def test_hostile_target_names_and_ids_show_as_text_on_the_review_map(
    phone, live_server, hostile
) -> None:
    page = phone().new_page()
    sign_in(page, live_server.keys.reviewer)
    page.click("#tab-review")
    page.click("#review-browse summary")
    page.fill("#f-unit", hostile["unit"])
    page.select_option("#f-verdict", "")
    page.click("#filter-form button[type=submit]")
    record_point = map_point(page, hostile["record"])

    with live_server.client(live_server.keys.reviewer) as client:
        items = client.get("/v1/targets", params={"status": "open", "limit": 500}).json()["items"]
    ours = [t for t in items if t["issuer"] == "xss-survey"]
    assert len(ours) == len(PAYLOADS) + 1
    shown = []
    for target in ours:
        path = page.locator(f"#map path.target[data-target='{target['id']}']")
        expect(path).to_have_count(1)
        path.dispatch_event("mouseover")
        tooltip = page.locator(".leaflet-tooltip").last
        expect(tooltip).to_be_visible()
        shown.append(tooltip.text_content())
        path.dispatch_event("mouseout")
        _assert_nothing_ran(page)
    for payload in PAYLOADS:
        assert any(payload in text for text in shown), (payload, shown)
    # A record's tooltip goes the same way.
    record_point.dispatch_event("mouseover")
    expect(page.locator(".leaflet-tooltip").last).to_be_visible()
    _assert_nothing_ran(page)


def test_hostile_record_fields_show_as_text_in_the_list_and_detail(
    phone, live_server, hostile
) -> None:
    page = phone().new_page()
    sign_in(page, live_server.keys.reviewer)
    page.click("#tab-review")
    page.click("#review-browse summary")
    page.fill("#f-unit", hostile["unit"])
    page.select_option("#f-verdict", "")
    page.click("#filter-form button[type=submit]")
    card = page.locator(f"#record-list li[data-id='{hostile['record']}']")
    expect(card).to_contain_text(PAYLOADS[1])
    card.locator("button.open").click()
    detail = page.locator("#review-detail")
    expect(detail).to_be_visible()
    for payload in PAYLOADS:
        expect(detail).to_contain_text(payload)
    _assert_nothing_ran(page)


def test_the_page_is_served_with_a_policy_that_refuses_injected_scripts(live_server) -> None:
    import httpx

    for path in ("/", "/index.html", "/js/review.js"):
        response = httpx.get(live_server.url + path)
        assert response.status_code == 200
        policy = response.headers["content-security-policy"]
        directives = {d.split()[0]: d.split()[1:] for d in policy.split("; ")}
        # this origin's scripts, and WebAssembly compilation for on-device scoring; never
        # inline script or JavaScript eval
        assert directives["script-src"] == ["'self'", "'wasm-unsafe-eval'"], policy
        assert directives["object-src"] == ["'none'"]
        assert "'unsafe-inline'" not in directives.get("default-src", [])
