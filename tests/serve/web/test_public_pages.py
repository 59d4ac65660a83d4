"""The public check page and the reviewers' tips page, end to end in a phone-size Chromium.

A resident checks photos, reports one with no signal (the offline queue), gets a tip code
and a secret, and follows the tip; a reviewer triages a group of tips into a survey target,
the patrol's ground check confirms it, and the reward is recorded and paid against the
secret. Each step is checked against what the service stored, through its API. About 40 s on
the shared 2-core machine: the only place the whole public path runs as one piece.
"""

from __future__ import annotations

import hashlib
import io
import re
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from PIL import Image
from playwright.sync_api import Page, expect
from web_pages import sign_in

from plantscout.serve.public_gate import PublicGate
from plantscout.serve.services.tips.reference import build_teaching

pytestmark = pytest.mark.browser
CERTAIN = re.compile(r"definitely|certainly|一定是|肯定是|确定是")


def jpeg(rgb: tuple[int, int, int], size=(640, 480)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, rgb).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


GREEN, RED, BLUE, GREY = (
    jpeg(c) for c in [(20, 200, 20), (220, 40, 40), (40, 40, 220), (128,) * 3]
)


def payload(name: str, data: bytes) -> dict:
    return {"name": name, "mimeType": "image/jpeg", "buffer": data}


def shot(page: Page, artifacts: Path, name: str) -> None:
    page.screenshot(path=str(artifacts / f"{name}.png"), full_page=False)


@pytest.fixture(scope="module")
def public_server(live_server, plants_v1):
    """The shared live server with generous public limits (limits are tested in the API
    tests) and reference photos installed as an office would."""
    app = live_server.app
    settings = app.state.settings
    build_teaching(plants_v1 / "manifest.csv", settings.resolved_teaching_dir, per_label=2)
    loose = settings.model_copy(
        update={
            "public_limit_check": "1000/minute",
            "public_limit_tip": "1000/minute",
            "public_limit_read": "1000/minute",
            "public_limit_global": "10000/minute",
        }
    )
    app.state.public_gate = PublicGate(loose)
    return live_server


def check_photo(page: Page, data: bytes, outcome: str) -> None:
    page.set_input_files("#check-pick", files=[payload("plant.jpg", data)])
    expect(page.locator("#check-result .outcome")).to_have_attribute("data-outcome", outcome)


def test_resident_checks_reports_offline_and_follows_the_tip(
    phone, public_server, here, artifacts: Path
) -> None:
    context = phone()
    page = context.new_page()
    page.goto("/check")
    expect(page.locator("h1")).to_have_text("是毒品植物吗？")
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")

    # Four photos, four answers; none claims a certainty.
    check_photo(page, RED, "report")
    expect(page.locator(".outcome h2")).to_have_text("可能是罂粟 — 请举报")
    check_photo(page, BLUE, "unlikely")
    expect(page.locator(".outcome h2")).to_have_text("看起来不像毒品植物")
    expect(page.locator("#check-result .caveats")).to_contain_text("不能可靠识别罂粟")
    expect(page.locator("#to-report")).to_have_text("仍要举报")
    check_photo(page, GREY, "retake")
    expect(page.locator(".outcome h2")).to_have_text("请拍一张更清楚的照片")
    check_photo(page, GREEN, "report")
    expect(page.locator(".outcome h2")).to_have_text("可能是大麻 — 请举报")
    expect(page.locator("#check-result .marks")).to_contain_text("掌状复叶")
    lookalike = page.locator("[data-lookalike=cannabis_lookalike]")
    expect(lookalike.locator("img")).to_have_count(2)  # reference photos, with their credit
    expect(lookalike.locator("figcaption").first).to_contain_text("CC BY-SA")
    assert not CERTAIN.search(page.locator("main").inner_text())
    shot(page, artifacts, "check-may-be-cannabis-zh")
    with httpx.Client(base_url=public_server.url) as client:
        reviewer = {"X-API-Key": public_server.keys.reviewer}
        before = {
            m["code"]
            for g in client.get("/v1/tips", headers=reviewer, params={"limit": 200}).json()["items"]
            for m in g["members"]
        }

    # Report it: the photo comes along, the pin is dragged to the plant east of the phone.
    page.click("#to-report")
    expect(page.locator("#report-photos li")).to_have_count(1)
    page.click("#use-location")
    expect(page.locator("#gps-status")).to_contain_text("25.043100, 102.706500")
    pin = page.locator(".pin-icon")
    expect(pin).to_be_visible()
    box = pin.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + 100, box["y"] + box["height"] / 2, steps=8)
    page.mouse.up()
    expect(page.locator("#pin-status")).to_contain_text("标记在您东")
    page.fill("#place", "村东头菜地边")
    page.fill("#description", "十几株，一人多高")
    page.fill("#contact", "")
    shot(page, artifacts, "report-pin-zh")

    # No signal: the report stays on the phone with its secret, and goes out later.
    context.set_offline(True)
    page.click("#send-report")
    expect(page.locator("#receipt")).to_be_visible()
    expect(page.locator("#receipt-msg")).to_contain_text("已保存在本机")
    expect(page.locator("#receipt-code")).to_have_text("（发送后生成）")
    secret = page.locator("#receipt-secret").inner_text().replace("-", "")
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{12}", secret)
    shot(page, artifacts, "report-queued-offline-zh")
    page.reload()  # the page itself comes from the service worker
    page.click(".tabs [data-view=status]")
    card = page.locator("#my-tips li[data-id]")
    expect(card).to_have_count(1)
    expect(card).to_contain_text("等待网络")
    context.set_offline(False)
    expect(card).to_have_attribute("data-status", "sent", timeout=60000)
    code = card.get_attribute("data-code")
    assert code and code not in before

    with httpx.Client(base_url=public_server.url) as client:
        groups = client.get("/v1/tips", headers=reviewer, params={"limit": 200}).json()["items"]
        [mine] = [m for g in groups for m in g["members"] if m["code"] == code]
        tip = client.get(f"/v1/tips/{mine['id']}", headers=reviewer).json()
    assert tip["place"] == "村东头菜地边" and tip["description"] == "十几株，一人多高"
    assert tip["contact"] is None and tip["verdict"] == "suspected"
    assert tip["location"]["source"] == "manual"
    assert tip["location"]["lon"] > here["longitude"] + 0.0003  # east of the phone
    assert [p["sha256"] for p in tip["photo_list"]] == [hashlib.sha256(GREEN).hexdigest()]

    # Progress with the code and the secret, on this phone and on another one.
    card.locator("button.primary").click()
    box = page.locator(".status-box")
    expect(box).to_have_attribute("data-phase", "received")
    expect(box.locator("[aria-current=step]")).to_have_text("已收到")
    page.click("#lang")
    expect(box.locator("[aria-current=step]")).to_have_text("Received")
    shot(page, artifacts, "status-received-en")
    other = phone().new_page()
    other.goto("/check#status")
    other.fill("#status-code", code.lower())
    other.fill("#status-secret", "-".join(secret[i : i + 4] for i in range(0, 12, 4)))
    other.click("#status-form button[type=submit]")
    expect(other.locator(".status-box")).to_have_attribute("data-phase", "received")
    other.fill("#status-secret", "0000-0000-0000")
    other.click("#status-form button[type=submit]")
    expect(other.locator("#status-result")).to_contain_text("编号或密码不正确")


def _send_tip(client: httpx.Client, secret: str, data: bytes, **fields) -> str:
    response = client.post(
        "/v1/public/tips",
        data={"secret": secret, **{k: str(v) for k, v in fields.items()}},
        files=[("photos", ("p.jpg", data, "image/jpeg"))],
    )
    assert response.status_code == 201, response.text
    return response.json()["code"]


def test_reviewer_triages_to_a_target_confirms_and_pays_the_reward(
    phone, public_server, artifacts: Path
) -> None:
    marker = "<img src=x onerror=window.__owned=1>"
    with httpx.Client(base_url=public_server.url, timeout=60) as client:
        code = _send_tip(
            client,
            "PAYM-E000-0001",
            jpeg((30, 190, 30), (700, 500)),
            lat=23.5,
            lon=101.5,
            place=f"坡地 {marker}",
            description="一片，约三十株",
            contact="微信 tipster-1",
        )
        _send_tip(client, "PAYM-E000-0002", jpeg((25, 185, 25), (700, 500)), lat=23.5003, lon=101.5)

    page = phone().new_page()
    sign_in(page, public_server.keys.reviewer)
    page.click(".tabs [data-view=review]")
    page.click("#tips-link")
    expect(page.locator("h1")).to_have_text("群众举报")
    group = page.locator(f".group-card:has-text('{code}')")
    expect(group).to_have_attribute("data-size", "2")
    expect(group).to_contain_text(marker)  # typed text stays text
    group.locator("button.open").click()
    detail = page.locator("#tip-detail")
    expect(detail.locator("h2 [data-outcome]")).to_have_attribute("data-outcome", "received")
    expect(detail).to_contain_text("微信 tipster-1")
    expect(detail.locator(".detail-photo img")).to_have_js_property("complete", True)
    expect(detail.locator(".detail-photo .score")).to_have_attribute("data-verdict", "suspected")
    assert page.evaluate("window.__owned") is None
    page.fill("#t-name", "坡地举报点")
    page.fill("#t-unit", "城关社区")
    page.click("#target-form button[type=submit]")
    expect(detail.locator("h2 [data-outcome]")).to_have_attribute("data-outcome", "checking")
    expect(detail.locator("[data-member] [data-outcome=checking]")).to_have_count(2)
    shot(page, artifacts, "tips-targeted-zh")

    with httpx.Client(base_url=public_server.url, timeout=60) as client:
        reviewer = {"X-API-Key": public_server.keys.reviewer}
        groups = client.get("/v1/tips", headers=reviewer, params={"limit": 200}).json()["items"]
        [tip] = [m for g in groups for m in g["members"] if m["code"] == code]
        target = client.get(f"/v1/tips/{tip['id']}", headers=reviewer).json()["target"]
        assert target["name"] == "坡地举报点" and target["unit"] == "城关社区"
        # the patrol of that unit checks the spot and the reviewer confirms cannabis
        filed = client.post(
            "/v1/inspections",
            headers={"X-API-Key": public_server.keys.inspector},
            data={"site_type": "farmland", "target_id": target["id"], "lat": 23.5, "lon": 101.5},
            files=[("photos", ("g.jpg", jpeg((20, 210, 20)), "image/jpeg"))],
        )
        assert filed.status_code == 201, filed.text
        reviewed = client.patch(
            f"/v1/inspections/{filed.json()['id']}",
            headers=reviewer,
            json={"review": {"state": "confirmed_cannabis"}},
        )
        assert reviewed.status_code == 200, reviewed.text

    page.reload()
    group = page.locator(f".group-card:has-text('{code}')")
    page.select_option("#f-triage", "targeted")
    group.locator("button.open").click()
    expect(detail.locator("h2 [data-outcome]")).to_have_attribute("data-outcome", "confirmed")
    page.select_option("#r-decision", "eligible")
    page.fill("#r-amount", "300")
    page.click("#reward-form button[type=submit]")
    expect(page.locator("#tip-msg")).to_have_text("已保存。")
    today = datetime.now(UTC).date().isoformat()
    page.fill("#r-amount", "300")
    page.fill("#r-paid", today)
    page.fill("#r-secret", "WRONG-SECRET-0")
    page.click("#reward-form button[type=submit]")
    expect(page.locator("#tip-msg")).to_contain_text("secret")
    page.fill("#r-secret", "paym-e000-0001")
    page.click("#reward-form button[type=submit]")
    expect(page.locator("#reward-final")).to_contain_text("300")
    expect(detail.locator("[data-action=reward]")).to_have_count(2)
    shot(page, artifacts, "tips-reward-paid-zh")

    with httpx.Client(base_url=public_server.url, timeout=60) as client:
        status = client.post(
            "/v1/public/tips/status", json={"code": code, "secret": "PAYME0000001"}
        ).json()
    assert status["phase"] == "confirmed"
    assert status["reward"] == {"decision": "eligible", "amount": 300, "paid_on": today}
    page.click("#tip-detail > button")
    page.locator("#summary-box summary").click()
    expect(page.locator("#summary [data-n=paid]")).to_contain_text("300")


def test_public_page_files_are_served_with_the_policy(public_server) -> None:
    with httpx.Client(base_url=public_server.url, timeout=30) as client:
        for path in ("/check", "/learn"):
            page = client.get(path)
            assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
            assert "script-src 'self'" in page.headers["content-security-policy"]
            assert "<script>" not in page.text and " on" not in re.sub(r"\s+", " ", page.text)
        learn = client.get("/learn").text
        assert 'src="js/learn.js"' in learn


def test_learn_page_shows_stages_lookalikes_photos_and_the_poster(
    phone, public_server, artifacts: Path
) -> None:
    page = phone().new_page()
    page.goto("/learn")
    poppy = page.locator("[data-species=opium_poppy]")
    expect(poppy.locator("[data-stage]")).to_have_count(4)
    expect(poppy.locator("[data-stage=capsule]")).to_contain_text("蒴果")
    expect(poppy).to_contain_text("不能可靠识别")  # the model has never seen opium poppy
    expect(poppy.locator(".ref-photo")).to_have_count(0)
    cannabis = page.locator("[data-species=cannabis]")
    expect(cannabis.locator("> .ref-photos .ref-photo")).to_have_count(2)
    expect(cannabis.locator(".ref-photo small").first).to_contain_text("MIT")
    expect(cannabis.locator("[data-lookalike=cannabis_lookalike]")).to_contain_text("日本槭")
    expect(page.locator("#law")).to_contain_text("第三百五十一条")
    shot(page, artifacts, "learn-zh")
    page.click("#lang")
    expect(poppy.locator("[data-stage=capsule] strong")).to_have_text("Capsule")
    href = page.locator("#poster-pdf").get_attribute("href")
    assert href == "v1/public/poster.pdf?lang=en"
    response = page.request.get(f"{public_server.url}/{href}")
    assert response.status == 200 and response.body().startswith(b"%PDF")
