"""The defects a phone trial found (issue 13), one browser test each.

Each test does what the new inspector or reviewer did on a 360-px phone and fails on the page
as it was before the fix (noted per test). Records are filed through the API at places and
in units of their own, so the tests do not see each other's records.
"""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image
from playwright.sync_api import Page, Route, expect
from web_pages import sign_in

pytestmark = pytest.mark.browser


def png(rgb: tuple[int, int, int], size: tuple[int, int] = (320, 240)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, rgb).save(buffer, "PNG")
    return buffer.getvalue()


def file_record(live_server, unit: str | None = None, **fields) -> dict:
    data = {"site_type": "farmland", **{k: str(v) for k, v in fields.items()}}
    if unit:
        data["unit"] = unit
    key = live_server.keys.reviewer if unit else live_server.keys.inspector
    with live_server.client(key) as client:
        response = client.post(
            "/v1/inspections",
            data=data,
            files=[("photos", ("g.png", png((0, 255, 0)), "image/png"))],
        )
    assert response.status_code == 201, response.text
    return response.json()


def filter_by_unit(page: Page, unit: str, since: str = "", until: str = "") -> None:
    page.click("#review-browse summary")
    page.fill("#f-unit", unit)
    page.select_option("#f-verdict", "")
    page.fill("#f-since", since)
    page.fill("#f-until", until)
    page.click("#filter-form button[type=submit]")


def test_review_date_filter_counts_days_on_the_phones_clock(phone, live_server) -> None:
    """Before: a bare date was a UTC day, so a record filed at 02:49 China time on 12/03 was
    not found by filtering 12/03."""
    unit = "时区测试"
    early = file_record(live_server, unit, observed_at="2025-12-03T02:49:00+08:00")
    late = file_record(live_server, unit, observed_at="2025-12-03T23:40:00+08:00")
    next_day = file_record(live_server, unit, observed_at="2025-12-04T00:10:00+08:00")
    page = phone(timezone_id="Asia/Shanghai").new_page()
    sign_in(page, live_server.keys.reviewer)
    page.click("#tab-review")
    filter_by_unit(page, unit, "2025-12-03", "2025-12-03")
    listed = page.locator("#record-list li[data-id]")
    expect(listed).to_have_count(2)
    expect(page.locator(f"#record-list li[data-id='{early['id']}']")).to_have_count(1)
    expect(page.locator(f"#record-list li[data-id='{late['id']}']")).to_have_count(1)
    expect(page.locator(f"#record-list li[data-id='{next_day['id']}']")).to_have_count(0)


def test_nearby_targets_load_when_the_first_key_is_saved_and_offline_says_so(
    phone, live_server
) -> None:
    """Before: targets were asked for on the first GPS fix, before any key existed, and not
    again when the key was saved ("no unchecked targets nearby" with one 542 m away); offline
    the page said the same untrue thing."""
    here = {"latitude": 24.5012, "longitude": 101.3021, "accuracy": 10}
    target = {
        "type": "Feature",
        "properties": {"id": "SAT-542", "name": "卫片疑似点 542 米"},
        "geometry": {
            "type": "Point",
            "coordinates": [here["longitude"], here["latitude"] + 0.00487],
        },
    }
    with live_server.client(live_server.keys.admin) as client:
        imported = client.post(
            "/v1/targets/import",
            data={"issuer": "defect-survey"},
            files={
                "file": (
                    "t.geojson",
                    json.dumps({"type": "FeatureCollection", "features": [target]}),
                    "application/geo+json",
                )
            },
        )
        assert imported.status_code in (200, 201), imported.text
        target_id = imported.json()["ids"][0]
    context = phone(geolocation=here)
    page = context.new_page()
    page.goto("/")
    expect(page.locator("#gps-status")).to_contain_text("24.501200")  # a fix before any key
    page.fill("#api-key", live_server.keys.inspector)
    page.click("#key-form button[type=submit]")
    expect(page.locator("#key-msg")).to_have_class("notice ok")
    page.click(".tabs [data-view=capture]")
    expect(page.locator(f"#target option[value='{target_id}']")).to_have_count(1)
    expect(page.locator(f"#target option[value='{target_id}']")).to_contain_text("542")

    context.set_offline(True)
    page.click("#target-refresh")
    message = page.locator("#target-msg")
    expect(message).to_contain_text("离线")
    expect(message).not_to_contain_text("附近没有未核查的目标")


def test_a_lost_answer_is_not_called_no_network(phone, live_server, real_photo) -> None:
    """Before: one lost answer (the network up) switched the page to "offline" and said
    "no network"."""
    context = phone()
    page = context.new_page()
    sign_in(page, live_server.keys.inspector)
    page.click(".tabs [data-view=capture]")

    def lose_once(route: Route) -> None:
        if route.request.method == "POST":
            route.fetch()
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route("**/v1/inspections", lose_once)
    page.set_input_files("#photo-pick", str(real_photo("ornamental_poppy", 15)))
    page.select_option("#site-type", "farmland")
    page.click("#submit")
    expect(page.locator("#filed")).to_be_visible(timeout=30000)
    expect(page.locator("#filed-msg")).to_contain_text("已保存在本机")
    expect(page.locator("#filed-msg")).not_to_contain_text("无网络")
    expect(page.locator("#net")).to_have_text("在线")
    page.unroute("**/v1/inspections")


def test_clear_names_the_likely_plant_and_does_not_rule_out_opium_poppy(phone, live_server) -> None:
    """Before: "未发现" (nothing found) and nothing else."""
    page = phone().new_page()
    sign_in(page, live_server.keys.inspector)
    page.click(".tabs [data-view=capture]")
    page.set_input_files(
        "#photo-pick",
        files=[{"name": "b.png", "mimeType": "image/png", "buffer": png((0, 0, 255))}],
    )
    card = page.locator(".photo[data-photo='1']")
    expect(card.locator(".score")).to_have_attribute("data-verdict", "clear")
    expect(card).not_to_contain_text("未发现")
    expect(card).to_contain_text("最像")
    expect(card).to_contain_text("其他植物")
    expect(card).to_contain_text("不能排除罂粟")


def test_probabilities_never_read_as_certainty(phone, live_server) -> None:
    """Before: a probability of 0.997 was shown as "100%"."""
    page = phone().new_page()
    sign_in(page, live_server.keys.inspector)
    page.click(".tabs [data-view=capture]")
    page.set_input_files(
        "#photo-pick",
        files=[{"name": "g.png", "mimeType": "image/png", "buffer": png((0, 255, 0))}],
    )
    species = page.locator(".photo[data-photo='1'] [data-species=cannabis]")
    expect(species).to_contain_text("警报")
    expect(species).not_to_contain_text("100%")
    expect(species).to_contain_text("99%")


def test_records_at_one_spot_are_one_marker_with_their_count(phone, live_server) -> None:
    """Before: three records at one spot were three dots drawn on top of each other."""
    unit = "同点测试"
    ids = [file_record(live_server, unit, lat=23.3001, lon=99.1001)["id"] for _ in range(3)]
    page = phone().new_page()
    sign_in(page, live_server.keys.reviewer)
    page.click("#tab-review")
    filter_by_unit(page, unit)
    expect(page.locator("#record-list li[data-id]")).to_have_count(3)
    cluster = page.locator("#map .cluster")
    expect(cluster).to_have_count(1)
    expect(cluster).to_have_text("3")
    cluster.click()
    expect(page.locator("#record-list li[data-id]")).to_have_count(3)
    for record_id in ids:
        expect(page.locator(f"#record-list li[data-id='{record_id}'].here")).to_have_count(1)


def test_a_reviewer_key_lands_on_review_and_the_title_and_tab_label_translate(
    phone, live_server
) -> None:
    """Before: a reviewer landed on Capture after saving the key; the window title and the
    tab bar's screen-reader label stayed Chinese in English."""
    page = phone().new_page()
    sign_in(page, live_server.keys.reviewer)
    expect(page.locator("#view-review")).to_be_visible()
    expect(page).to_have_title("罂粟/大麻巡查")
    page.click("#lang")
    expect(page).to_have_title("Poppy & cannabis patrol")
    expect(page.locator("nav.tabs")).to_have_attribute("aria-label", "Sections")


def test_after_a_conflict_the_reviewers_own_edits_are_kept_beside_the_other(
    phone, live_server
) -> None:
    """Before: a 412 reloaded the record and threw the reviewer's edits away."""
    record = file_record(live_server, "冲突测试", lat=22.9, lon=100.1)
    page = phone().new_page()
    sign_in(page, live_server.keys.reviewer)
    page.click("#tab-review")
    filter_by_unit(page, "冲突测试")
    page.locator(f"#record-list li[data-id='{record['id']}'] button.open").click()
    expect(page.locator("#review-form")).to_be_visible()
    with live_server.client(live_server.keys.admin) as client:  # another reviewer, meanwhile
        other = client.patch(
            f"/v1/inspections/{record['id']}",
            json={"review": {"state": "lookalike", "note": "像是木薯"}},
        )
        assert other.status_code == 200, other.text
    page.select_option("#r-state", "confirmed_cannabis")
    page.fill("#r-note", "叶片七裂，确认大麻")
    page.click("#review-form button[type=submit]")
    conflict = page.locator("#review-conflict")
    expect(conflict).to_be_visible()
    expect(conflict).to_contain_text("相似植物")  # the other reviewer's state
    expect(conflict).to_contain_text("像是木薯")  # and note
    expect(page.locator("#r-state")).to_have_value("confirmed_cannabis")  # ours, kept
    expect(page.locator("#r-note")).to_have_value("叶片七裂，确认大麻")
    page.click("#review-form button[type=submit]")  # decided: ours wins, knowingly
    expect(page.locator("#review-detail .notice.ok")).to_contain_text("已保存")
    with live_server.client(live_server.keys.reviewer) as client:
        saved = client.get(f"/v1/inspections/{record['id']}").json()
    assert saved["review"]["state"] == "confirmed_cannabis"
    assert saved["review"]["note"] == "叶片七裂，确认大麻"
