"""Issue 13 on the phone: drafts that survive the tab being killed, several plants or patches
per record with the photo guide, "my records" with the review outcome offline, and setting a
phone up from a QR link. Each test checks what the service stored, not only what is shown.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from web_pages import sign_in

pytestmark = pytest.mark.browser

DRAFTS = """() => new Promise((resolve, reject) => {
  const open = indexedDB.open("plantscout");
  open.onerror = () => reject(open.error);
  open.onsuccess = () => {
    const rows = open.result.transaction("drafts").objectStore("drafts").getAll();
    rows.onsuccess = () => resolve(rows.result);
  };
})"""


def new_inspector(live_server, unit: str, name: str) -> str:
    with live_server.client(live_server.keys.admin) as client:
        created = client.post("/v1/keys", json={"role": "inspector", "unit": unit, "name": name})
    assert created.status_code == 201, created.text
    return created.json()["key"]


def wait_for_draft(page: Page, predicate: str) -> None:
    """Until the stored drafts satisfy a JS predicate over them (text saves are debounced)."""
    check = f"async () => {{ const drafts = await ({DRAFTS})(); return Boolean({predicate}); }}"
    for _ in range(100):
        if page.evaluate(check):
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"drafts never matched {predicate}: {page.evaluate(DRAFTS)}")


def test_a_draft_survives_a_reload_and_drafts_can_be_resumed_and_deleted(
    phone, live_server, real_photo
) -> None:
    page = phone().new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    sign_in(page, live_server.keys.inspector)
    page.click(".tabs [data-view=capture]")
    page.set_input_files("#photo-pick", str(real_photo("ornamental_poppy", 13)))
    page.select_option("#site-type", "wasteland")
    page.fill("#notes", "相机打开时页面被关掉")
    page.locator(".plant[data-plant='1'] input[type=number]").first.fill("12")
    expect(page.locator(".photo[data-photo='1'] .score")).to_have_attribute(
        "data-verdict", "review"
    )
    wait_for_draft(
        page,
        "drafts.length === 1 && drafts[0].meta.notes === '相机打开时页面被关掉'"
        " && drafts[0].plants[0].count === 12",
    )

    page.reload()  # the phone killed the tab while the camera app was open
    expect(page.locator("#draft-status")).to_contain_text("已恢复未提交的草稿")
    expect(page.locator(".photo")).to_have_count(1)
    expect(page.locator(".photo[data-photo='1'] .score")).to_have_attribute(
        "data-verdict", "review"
    )
    expect(page.locator("#site-type")).to_have_value("wasteland")
    expect(page.locator("#notes")).to_have_value("相机打开时页面被关掉")
    expect(page.locator(".plant[data-plant='1'] input[type=number]").first).to_have_value("12")

    # Keep it, start another; both are listed; delete the second, resume the first.
    page.click("#draft-new")
    expect(page.locator(".photo")).to_have_count(0)
    expect(page.locator("#notes")).to_have_value("")
    page.fill("#notes", "第二份草稿")
    wait_for_draft(page, "drafts.length === 2")
    page.click(".tabs [data-view=records]")
    listed = page.locator("#draft-list li[data-draft]")
    expect(listed).to_have_count(2)
    second = page.locator("#draft-list li[data-draft]", has_text="第二份草稿")
    second.locator("button.danger").click()
    expect(listed).to_have_count(1)
    listed.first.locator("button.primary").click()
    expect(page.locator("#view-capture")).to_be_visible()
    expect(page.locator("#notes")).to_have_value("相机打开时页面被关掉")
    expect(page.locator(".photo")).to_have_count(1)

    # Filing it empties the draft list: it lives in the queue, then on the service.
    page.click("#submit")
    expect(page.locator("#filed-msg")).to_contain_text("已提交")
    wait_for_draft(page, "drafts.length === 0")
    record_id = page.locator("#filed").get_attribute("data-inspection")
    with live_server.client(live_server.keys.reviewer) as client:
        record = client.get(f"/v1/inspections/{record_id}").json()
    assert record["notes"] == "相机打开时页面被关掉" and record["site_type"] == "wasteland"
    assert record["plants"][0]["count"] == 12 and record["plants"][0]["photos"] == [0]


def test_several_plants_with_photo_guide_counts_areas_and_stages(
    phone, live_server, real_photo
) -> None:
    page = phone().new_page()
    sign_in(page, live_server.keys.inspector)
    page.click(".tabs [data-view=capture]")
    guide = page.locator("#photo-guide")
    guide.locator("summary").click()
    expect(guide.locator("[data-species=cannabis]")).to_contain_text("叶片特写")
    expect(guide.locator("[data-species=opium_poppy]")).to_contain_text("蒴果")

    first = page.locator(".plant[data-plant='1']")
    page.set_input_files(
        "#photo-pick",
        [str(real_photo("ornamental_poppy", 16)), str(real_photo("ornamental_poppy", 17))],
    )
    expect(first.locator(".photo")).to_have_count(2)
    first.locator("select").first.select_option("patch")
    first.locator("input[type=number]").nth(0).fill("40")
    first.locator("input[type=number]").nth(1).fill("12.5")
    first.locator("select").nth(1).select_option("flowering")
    page.click("#add-plant")
    second = page.locator(".plant[data-plant='2']")
    expect(second).to_have_class("plant current")
    page.set_input_files("#photo-pick", str(real_photo("ornamental_poppy", 18)))
    expect(second.locator(".photo")).to_have_count(1)
    expect(second.locator(".photo")).to_have_attribute("data-photo", "3")
    second.locator("input[type=number]").nth(0).fill("1")
    second.locator("select").nth(1).select_option("fruiting")
    page.select_option("#site-type", "remote_plot")
    page.click("#submit")
    expect(page.locator("#filed-msg")).to_contain_text("已提交")
    record_id = page.locator("#filed").get_attribute("data-inspection")
    with live_server.client(live_server.keys.reviewer) as client:
        record = client.get(f"/v1/inspections/{record_id}").json()
    plants = [
        {k: p[k] for k in ("kind", "count", "area_m2", "growth_stage", "photos")}
        for p in record["plants"]
    ]
    assert plants == [
        {
            "kind": "patch",
            "count": 40,
            "area_m2": 12.5,
            "growth_stage": "flowering",
            "photos": [0, 1],
        },
        {"kind": "plant", "count": 1, "area_m2": None, "growth_stage": "fruiting", "photos": [2]},
    ]


def test_my_records_show_the_outcome_offline_and_notices_say_what_came_back(
    phone, live_server, real_photo
) -> None:
    key = new_inspector(live_server, "记录测试组", "孙警官")
    context = phone()
    page = context.new_page()
    sign_in(page, key)
    page.click(".tabs [data-view=capture]")
    # A: filed online.
    page.set_input_files("#photo-pick", str(real_photo("ornamental_poppy", 13)))
    page.select_option("#site-type", "courtyard")
    page.click("#submit")
    expect(page.locator("#filed-msg")).to_contain_text("已提交")
    filed_a = page.locator("#filed").get_attribute("data-inspection")
    page.click("#new-inspection")
    # B: filed with no signal; it waits in the queue and goes when the network is back.
    context.set_offline(True)
    page.set_input_files("#photo-pick", str(real_photo("ornamental_poppy", 14)))
    page.select_option("#site-type", "farmland")
    page.click("#submit")
    expect(page.locator("#filed-msg")).to_contain_text("已保存在本机")
    context.set_offline(False)
    page.click(".tabs [data-view=records]")
    expect(page.locator("#queue-list li[data-id]")).to_have_count(0, timeout=60000)
    came_back = page.locator("#notices li[data-kind=verdict]")
    expect(came_back).to_have_count(1)  # B came back "review" while nobody was looking
    expect(came_back.locator(".verdict")).to_have_attribute("data-verdict", "review")

    # A reviewer confirms A and records its eradication.
    with live_server.client(live_server.keys.reviewer) as client:
        done = client.patch(
            f"/v1/inspections/{filed_a}",
            json={
                "review": {"state": "confirmed_opium_poppy", "note": "现场确认"},
                "eradication": {"date": "2025-06-02", "plants": 20, "method": "uprooted"},
            },
        )
        assert done.status_code == 200, done.text
    page.click("#mine-refresh")
    card_a = page.locator(f"#mine-list li[data-id='{filed_a}']")
    expect(card_a).to_have_attribute("data-review", "confirmed_opium_poppy")
    expect(card_a).to_contain_text("已铲除 2025-06-02：20 株")
    expect(page.locator(f"#notices li[data-kind=review][data-id='{filed_a}']")).to_contain_text(
        "确认为罂粟"
    )
    expect(page.locator(f"#notices li[data-kind=eradication][data-id='{filed_a}']")).to_have_count(
        1
    )

    # No signal, tab reloaded: the list and the map still show what was last seen.
    context.set_offline(True)
    page.reload()
    page.click(".tabs [data-view=records]")
    expect(page.locator("#mine-status")).to_contain_text("离线")
    expect(card_a).to_have_attribute("data-review", "confirmed_opium_poppy")
    expect(card_a.locator(".thumbs img")).to_have_count(1)
    expect(page.locator("#mine-list li[data-id]")).to_have_count(2)
    expect(page.locator("#mine-map path.pt, #mine-map .cluster").first).to_be_visible()
    review_notice = page.locator(f"#notices li[data-kind=review][data-id='{filed_a}']")
    review_notice.locator("button").click()  # dismissed, and stays dismissed after a reload
    expect(review_notice).to_have_count(0)
    page.reload()
    expect(page.locator(f"#notices li[data-kind=eradication][data-id='{filed_a}']")).to_have_count(
        1
    )
    expect(review_notice).to_have_count(0)


def test_an_admin_makes_a_setup_qr_and_a_phone_opens_its_link(phone, live_server) -> None:
    admin = phone().new_page()
    sign_in(admin, live_server.keys.admin)
    admin.click(".tabs [data-view=settings]")
    section = admin.locator("#setup-section")
    expect(section).to_be_visible()
    admin.select_option("#setup-role", "inspector")
    admin.fill("#setup-unit", "扫码测试组")
    admin.fill("#setup-name", "周警官")
    admin.click("#setup-form button[type=submit]")
    expect(admin.locator("#setup-result")).to_be_visible()
    src = admin.locator("#setup-qr").get_attribute("src")
    assert src.startswith("data:image/png;base64,")
    link = admin.locator("#setup-link").text_content()
    assert link.startswith(live_server.url + "/#setup=psk_")

    phone_page = phone().new_page()
    phone_page.goto(link)  # what the phone camera's QR reader opens
    expect(phone_page.locator("#key-msg")).to_contain_text("巡查员")
    expect(phone_page.locator("#view-capture")).to_be_visible()
    expect(phone_page.locator("#unit")).to_have_value("扫码测试组")
    assert "psk_" not in phone_page.url  # the key left the address bar
    with live_server.client(live_server.keys.admin) as client:
        keys = client.get("/v1/keys").json()
    assert any(k["name"] == "周警官" and k["unit"] == "扫码测试组" for k in keys)


def test_a_record_filed_before_its_photos_are_scored_leaves_no_draft(
    phone, live_server, real_photo
) -> None:
    """Filed at once, the photo's scores (service and phone) arrive after the draft was
    removed; they must not write it back."""
    page = phone().new_page()
    sign_in(page, live_server.keys.inspector)
    page.click(".tabs [data-view=capture]")
    page.select_option("#site-type", "farmland")
    page.set_input_files("#photo-pick", str(real_photo("ornamental_poppy", 19)))
    page.click("#submit")
    expect(page.locator("#filed-msg")).to_contain_text("已提交")
    page.wait_for_timeout(2000)  # both scores are in by now
    assert page.evaluate(DRAFTS) == []
    page.reload()
    page.click(".tabs [data-view=records]")
    expect(page.locator("#draft-list li[data-draft]")).to_have_count(0)
