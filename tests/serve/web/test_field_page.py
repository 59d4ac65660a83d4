"""The field page end to end: a phone-size headless Chromium against the real service.

Each test drives the page the way an officer or a reviewer would and then checks what the
service stored through the API, so a page that only *looks* right cannot pass. About 30 s in
all on a shared 2-core machine; worth it because this is the only place the capture →
queue → server → review path is exercised as one piece.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Page, Route, expect
from web_pages import map_point, sign_in

pytestmark = pytest.mark.browser


def jpeg(rgb: tuple[int, int, int], size: tuple[int, int] = (640, 480)) -> bytes:
    """A flat-colour photo: the tiny bundle reads grey as 'no plant', green as cannabis."""
    buffer = io.BytesIO()
    Image.new("RGB", size, rgb).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


GREY = jpeg((128, 128, 128))
GREEN = jpeg((20, 200, 20))


def file_payload(name: str, data: bytes) -> dict:
    return {"name": name, "mimeType": "image/jpeg", "buffer": data}


def shot(page: Page, artifacts: Path, name: str) -> None:
    page.screenshot(path=str(artifacts / f"{name}.png"), full_page=False)


def wait_for_service_worker(page: Page) -> None:
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.wait_for_function("navigator.serviceWorker.controller !== null")


@pytest.fixture(scope="module")
def targets(live_server, here) -> dict[str, str]:
    """Two open survey targets near the mocked phone and one far away."""
    lat, lon = here["latitude"], here["longitude"]
    collection = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"id": "SAT-001", "name": "卫片疑似点 1"},
                "geometry": {"type": "Point", "coordinates": [lon + 0.0006, lat + 0.0004]},
            },
            {
                "type": "Feature",
                "properties": {"id": "SAT-002", "name": "卫片疑似地块 2"},
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [
                        [
                            [lon - 0.003, lat - 0.002],
                            [lon - 0.001, lat - 0.002],
                            [lon - 0.001, lat - 0.001],
                            [lon - 0.003, lat - 0.001],
                            [lon - 0.003, lat - 0.002],
                        ]
                    ],
                },
            },
            {
                "type": "Feature",
                "properties": {"id": "SAT-999", "name": "far away"},
                "geometry": {"type": "Point", "coordinates": [lon + 1.0, lat + 1.0]},
            },
        ],
    }
    with live_server.client(live_server.keys.admin) as client:
        response = client.post(
            "/v1/targets/import",
            data={"issuer": "survey-2025"},
            files={"file": ("targets.geojson", json.dumps(collection), "application/geo+json")},
        )
        assert response.status_code in (200, 201), response.text
        ids = response.json()["ids"]
    return {"near": ids[0], "polygon": ids[1], "far": ids[2]}


def test_capture_score_and_file_with_a_real_photo(
    phone, live_server, real_photo, targets, here, artifacts: Path
) -> None:
    context = phone(geolocation={**here, "accuracy": 150})
    page = context.new_page()
    sign_in(page, live_server.keys.inspector)
    expect(page.locator("#key-msg")).to_contain_text("巡查员")
    expect(page.locator("#tab-review")).to_be_hidden()  # inspectors do not review
    expect(page.locator("#view-capture")).to_be_visible()  # a good key goes on to capture
    expect(page.locator("#unit")).to_have_value("城关社区")  # the key's unit, fixed
    expect(page.locator("#unit")).to_have_attribute("readonly", "")

    # A poor fix is flagged against the threshold (50 m by default); a good one clears it.
    expect(page.locator("#gps-warn")).to_be_visible()
    expect(page.locator("#gps-warn")).to_contain_text("150")
    context.set_geolocation(here)
    page.click("#gps-refresh")
    expect(page.locator("#gps-status")).to_contain_text("25.043100, 102.706500")
    expect(page.locator("#gps-warn")).to_be_hidden()

    # A photo with no plant in it: unusable, says why, and asks for a retake.
    page.set_input_files("#photo-pick", files=[file_payload("grey.jpg", GREY)])
    card = page.locator(".photo[data-photo='1']")
    expect(card.locator(".score")).to_have_attribute("data-verdict", "unusable")
    expect(card).to_contain_text("照片中未发现植物")
    # Retake it with a real photo of a poppy-family flower: the model sends it to review.
    photo = real_photo("ornamental_poppy", 0)
    card.locator(".actions label input[type=file]").set_input_files(str(photo))
    expect(card.locator(".score")).to_have_attribute("data-verdict", "review")
    expect(card.locator("[data-species=opium_poppy]")).to_contain_text("罂粟")
    expect(card.locator(".marks")).to_contain_text("蒴果")  # the field marks that tell it apart
    expect(page.locator(".photo")).to_have_count(1)

    # The nearby open target is offered for linking; the far one is not.
    expect(page.locator(f"#target option[value='{targets['near']}']")).to_have_count(1)
    expect(page.locator(f"#target option[value='{targets['far']}']")).to_have_count(0)
    page.select_option("#target", targets["near"])
    page.select_option("#site-type", "courtyard")
    page.fill("#notes", "院内约20株，花白色")
    page.evaluate("window.scrollTo(0, 0)")
    shot(page, artifacts, "capture-verdict-zh")

    page.click("#submit")
    expect(page.locator("#filed-msg")).to_contain_text("已提交")
    inspection_id = page.locator("#filed").get_attribute("data-inspection")
    assert inspection_id
    expect(page.locator("#filed .photo .score")).to_have_attribute("data-verdict", "review")
    shot(page, artifacts, "filed-zh")

    with live_server.client(live_server.keys.reviewer) as client:
        record = client.get(f"/v1/inspections/{inspection_id}").json()
    assert record["verdict"] == "review"
    assert record["site_type"] == "courtyard"
    assert record["notes"] == "院内约20株，花白色"
    assert record["unit"] == "城关社区"
    assert record["target_id"] == targets["near"]
    device = record["location"]["device"]
    assert device["lat"] == pytest.approx(here["latitude"])
    assert device["lon"] == pytest.approx(here["longitude"])
    assert device["accuracy_m"] == pytest.approx(here["accuracy"])
    assert [p["sha256"] for p in record["photos"]] == [
        hashlib.sha256(photo.read_bytes()).hexdigest()
    ]

    # English: labels, species names, field marks and verdicts all switch; the choice sticks.
    page.click("#lang")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator(".tabs [data-view=capture]")).to_have_text("Capture")
    expect(page.locator("#filed .photo [data-species=opium_poppy]")).to_contain_text("Opium poppy")
    expect(page.locator("#filed .photo .marks")).to_contain_text("Capsule")
    expect(page.locator("#filed .photo .head .verdict")).to_have_text("Needs review")
    shot(page, artifacts, "filed-en")
    page.click("#new-inspection")
    expect(page.locator("#submit")).to_have_text("File inspection")
    expect(page.locator("label[for=site-type]")).to_have_text("Site type")
    page.reload()
    expect(page.locator("#submit")).to_have_text("File inspection")
    page.click("#lang")
    expect(page.locator("#submit")).to_have_text("提交巡查记录")
    expect(page.locator(".tabs [data-view=records] [data-i18n]")).to_have_text("记录")


def _file(page: Page, photo: Path, note: str) -> None:
    page.set_input_files("#photo-pick", str(photo))
    expect(page.locator(".photo")).to_have_count(1)
    page.select_option("#site-type", "farmland")
    page.fill("#notes", note)
    page.click("#submit")
    expect(page.locator("#filed")).to_be_visible()


def test_offline_queue_sends_each_record_exactly_once(
    phone, live_server, real_photo, artifacts: Path
) -> None:
    context = phone()
    page = context.new_page()
    sign_in(page, live_server.keys.inspector)
    wait_for_service_worker(page)
    page.click(".tabs [data-view=capture]")
    expect(page.locator("#gps-status")).to_contain_text("25.043100")

    context.set_offline(True)
    expect(page.locator("#net")).to_have_text("离线")
    notes = ["离线记录 A", "离线记录 B"]
    for i, note in enumerate(notes):
        _file(page, real_photo("ornamental_poppy", i + 1), note)
        expect(page.locator("#filed-msg")).to_contain_text("已保存在本机")
        page.click("#new-inspection")

    # Still offline, the app shell comes from the service worker and the queue from IndexedDB.
    page.reload()
    page.click(".tabs [data-view=records]")
    queued = page.locator("#queue-list li[data-id]")
    expect(queued).to_have_count(2)
    expect(page.locator("#queue-badge")).to_have_text("2")
    expect(queued.first).to_contain_text("等待网络")
    queued_ids = {queued.nth(i).get_attribute("data-id") for i in range(2)}
    shot(page, artifacts, "pending-offline-zh")

    with live_server.client(live_server.keys.reviewer) as client:

        def on_server() -> list[dict]:
            items = client.get("/v1/inspections", params={"limit": 200}).json()["items"]
            return [item for item in items if item["notes"] in notes]

        assert on_server() == []
        context.set_offline(False)
        # sent by the online event or, failing that, the retry timer (3 s, doubling)
        expect(page.locator("#queue-list li[data-id]")).to_have_count(0, timeout=60000)
        expect(page.locator("#queue-badge")).to_be_hidden()
        for record_id in queued_ids:  # now among my records, as the service has them
            expect(page.locator(f"#mine-list li[data-id='{record_id}']")).to_have_count(1)
        filed = on_server()
        assert sorted(item["notes"] for item in filed) == sorted(notes)
        assert {item["id"] for item in filed} == queued_ids

        # The worst case for "never twice": the server files the record but the answer is
        # lost on the way back. The page keeps it queued and sends it again; the client id
        # makes the second send return the record already filed.
        lost: list[int] = []

        def lose_the_answer(route: Route) -> None:
            if route.request.method == "POST":
                lost.append(route.fetch().status)
                route.abort("connectionreset")
            else:
                route.continue_()

        page.route("**/v1/inspections", lose_the_answer)
        page.click(".tabs [data-view=capture]")
        _file(page, real_photo("ornamental_poppy", 3), "回执丢失的记录")
        expect(page.locator("#filed-msg")).to_contain_text("已保存在本机")
        assert lost == [201]
        page.unroute("**/v1/inspections")
        page.click(".tabs [data-view=records]")
        expect(page.locator("#queue-list li[data-id]")).to_have_count(1)
        page.click("#send-now")
        expect(page.locator("#queue-list li[data-id]")).to_have_count(0)
        items = client.get("/v1/inspections", params={"limit": 200}).json()["items"]
        assert sum(item["notes"] == "回执丢失的记录" for item in items) == 1
        assert sum(item["notes"] in notes for item in items) == 2


def test_reviewer_reviews_on_the_map(
    phone, live_server, real_photo, targets, here, artifacts: Path
) -> None:
    lat, lon = here["latitude"], here["longitude"]
    with live_server.client(live_server.keys.inspector) as client:
        suspected = client.post(
            "/v1/inspections",
            data={
                "site_type": "remote_plot",
                "lat": str(lat + 0.002),
                "lon": str(lon + 0.001),
                "accuracy_m": "6",
                "notes": "山坡地块，成片种植",
            },
            files=[("photos", ("green.jpg", GREEN, "image/jpeg"))],
        )
        assert suspected.status_code == 201, suspected.text
        suspected_id = suspected.json()["id"]
        assert suspected.json()["verdict"] == "suspected"
        poppy = real_photo("ornamental_poppy", 4)
        review = client.post(
            "/v1/inspections",
            data={"site_type": "courtyard", "lat": str(lat - 0.001), "lon": str(lon)},
            files=[("photos", (poppy.name, poppy.read_bytes(), "image/jpeg"))],
        )
        assert review.status_code == 201, review.text

    context = phone()
    page = context.new_page()
    sign_in(page, live_server.keys.reviewer)
    expect(page.locator("#key-msg")).to_contain_text("复核员")
    page.click("#tab-review")
    card = page.locator(f"#record-list li[data-id='{suspected_id}']")
    expect(card).to_be_visible()
    expect(map_point(page, suspected_id)).to_have_count(1)
    with live_server.client(live_server.keys.reviewer) as client:
        open_targets = client.get("/v1/targets", params={"status": "open"}).json()["items"]
    assert open_targets
    expect(page.locator("#map path.target")).to_have_count(len(open_targets))
    shot(page, artifacts, "review-map-zh")

    # Filters (folded away on a phone): only suspected.
    page.click("#review-browse summary")
    page.select_option("#f-verdict", "suspected")
    page.click("#filter-form button[type=submit]")
    expect(page.locator("#record-list li[data-id]")).not_to_have_count(0)
    expect(page.locator("#record-list li[data-verdict=review]")).to_have_count(0)

    # Open the record from its map point; see its photo and score; review and eradicate.
    map_point(page, suspected_id).click()
    detail = page.locator("#review-detail")
    expect(detail).to_be_visible()
    expect(detail.locator(".detail-photo img")).to_have_attribute("src", re.compile(r"^blob:"))
    expect(detail.locator(".detail-photo [data-species=cannabis]")).to_contain_text("大麻")
    expect(detail).not_to_contain_text("null")
    page.select_option("#r-state", "confirmed_cannabis")
    page.fill("#r-note", "现场确认为大麻")
    page.fill("#e-date", "2025-06-03")
    page.fill("#e-plants", "120")
    page.fill("#e-area", "35.5")
    page.select_option("#e-method", "uprooted")
    page.click("#review-form button[type=submit]")
    expect(detail.locator(".notice.ok")).to_contain_text("已保存")
    expect(detail).not_to_contain_text("null")
    expect(detail).not_to_contain_text("undefined")
    detail.locator("summary", has_text="修改记录").click()  # the audit trail, in words
    expect(detail.locator(".history")).to_contain_text("复核结论 待复核 → 确认为大麻")
    expect(detail.locator(".history")).to_contain_text("株数 — → 120")
    shot(page, artifacts, "review-record-zh")

    with live_server.client(live_server.keys.reviewer) as client:
        record = client.get(f"/v1/inspections/{suspected_id}").json()
    assert record["review"]["state"] == "confirmed_cannabis"
    assert record["review"]["note"] == "现场确认为大麻"
    assert record["review"]["by"]
    assert record["eradication"] == {
        "date": "2025-06-03",
        "plants": 120,
        "area_m2": 35.5,
        "method": "uprooted",
        "note": None,
    }
    assert any("review_state" in json.dumps(entry["changes"]) for entry in record["audit"])

    # Back on the list, the card shows the new state.
    page.click("#review-back")
    expect(card).to_have_attribute("data-review", "confirmed_cannabis")


def test_instant_verdict_scores_a_reduced_copy_and_files_the_original(phone, live_server) -> None:
    big = jpeg((20, 200, 20), size=(4000, 3000))  # a 12 MP phone photo of "cannabis"
    context = phone()
    page = context.new_page()
    sign_in(page, live_server.keys.inspector)
    page.click(".tabs [data-view=capture]")
    with page.expect_request("**/v1/score") as scored:
        page.set_input_files("#photo-pick", files=[file_payload("big.jpg", big)])
    scored.value.response()  # wait for it to finish
    assert scored.value.sizes()["requestBodySize"] < len(big) / 2
    card = page.locator(".photo[data-photo='1']")
    expect(card.locator(".score")).to_have_attribute("data-verdict", "suspected")
    expect(card.locator("[data-species=cannabis]")).to_contain_text("警报")
    expect(card.locator(".marks")).to_contain_text("掌状复叶")
    page.select_option("#site-type", "greenhouse")
    page.click("#submit")
    # 12 MB into the queue, a thumbnail made, then uploaded: slower than 5 s on a loaded CI box
    expect(page.locator("#filed-msg")).to_contain_text("已提交", timeout=30000)
    inspection_id = page.locator("#filed").get_attribute("data-inspection")
    with live_server.client(live_server.keys.inspector) as client:
        record = client.get(f"/v1/inspections/{inspection_id}").json()
        original = client.get(record["photos"][0]["url"]).content
    assert record["verdict"] == "suspected"
    assert original == big  # evidence: byte for byte


# Runs in the page: what would make it hard to use on a small phone in the sun.
AUDIT = """
() => {
  const problems = [];
  const visible = (el) => {
    const r = el.getBoundingClientRect();
    const s = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && s.visibility !== "hidden" && !el.closest(".sr-only");
  };
  const name = (el) => (el.id || el.className || el.tagName) + " '" + (el.innerText || el.value || "").slice(0, 20) + "'";
  if (document.documentElement.scrollWidth > window.innerWidth + 1) {
    problems.push(`page is ${document.documentElement.scrollWidth}px wide`);
  }
  const tappable = "button, select, textarea, summary, label.btn, a[href], input:not([type=file]):not([type=hidden])";
  for (const el of document.querySelectorAll(tappable)) {
    if (!visible(el) || el.closest(".skip") || el.matches(".skip")) continue;
    const r = el.getBoundingClientRect();
    if (r.height < 44 || r.width < 44) problems.push(`small target ${name(el)} ${r.width}x${r.height}`);
  }
  for (const el of document.querySelectorAll("input:not([type=file]), select, textarea")) {
    if (!visible(el)) continue;
    if (!(el.labels && el.labels.length) && !el.getAttribute("aria-label")) problems.push(`no label ${name(el)}`);
  }
  const rgb = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0.9)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const texts = ".verdict, .btn, .tabs button, .hint, .notice, label, legend, .meta, .net, h1, h2, h3, p, li, dt, dd";
  for (const el of document.querySelectorAll(texts)) {
    if (!visible(el) || !el.innerText.trim() || el.closest(".leaflet-container")) continue;
    const fg = lum(rgb(getComputedStyle(el).color).slice(0, 3));
    const bg = lum(background(el));
    const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
    if (ratio < 7) problems.push(`contrast ${ratio.toFixed(1)} ${name(el)}`);
  }
  return problems;
}
"""


def test_every_screen_fits_360_px_with_big_targets_and_strong_contrast(
    phone, live_server, artifacts: Path
) -> None:
    context = phone(viewport={"width": 360, "height": 740})
    page = context.new_page()
    page.goto("/")
    page.fill("#api-key", "psk_0000000000000000_not-a-real-key-at-all")
    page.click("#key-form button[type=submit]")
    expect(page.locator("#key-msg")).to_contain_text("访问密钥无效")
    expect(page.locator("#tab-review")).to_be_hidden()
    assert page.evaluate(AUDIT) == [], page.evaluate(AUDIT)
    page.fill("#api-key", live_server.keys.reviewer)
    page.click("#key-form button[type=submit]")
    expect(page.locator("#tab-review")).to_be_visible()
    page.click(".tabs [data-view=settings]")
    assert page.evaluate(AUDIT) == [], page.evaluate(AUDIT)
    page.click(".tabs [data-view=capture]")
    page.set_input_files("#photo-pick", files=[file_payload("grey.jpg", GREY)])
    expect(page.locator(".photo .score")).to_have_attribute("data-verdict", "unusable")
    page.set_input_files("#photo-pick", files=[file_payload("green.jpg", GREEN)])
    expect(page.locator(".photo[data-photo='2'] .score")).to_have_attribute(
        "data-verdict", "suspected"
    )
    assert page.evaluate(AUDIT) == [], page.evaluate(AUDIT)
    page.click(".tabs [data-view=records]")
    assert page.evaluate(AUDIT) == [], page.evaluate(AUDIT)
    page.click(".tabs [data-view=review]")
    expect(page.locator("#map .leaflet-control-zoom")).to_be_visible()
    page.click("#review-browse summary")
    assert page.evaluate(AUDIT) == [], page.evaluate(AUDIT)
    page.click("#lang")
    assert page.evaluate(AUDIT) == [], page.evaluate(AUDIT)
    shot(page, artifacts, "review-filters-en-360")
