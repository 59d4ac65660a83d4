"""On-device scoring in Chromium with the released bundle (issue 13, item 1).

The page downloads the served bundle's network and the decision graph generated from its card,
and scores photos with onnxruntime-web (WebAssembly). These tests run the real released
network on real photos in headless Chromium and compare with what the service (Python, ONNX
Runtime) says for the same bytes: same verdict, same levels, probabilities within 1e-3. Then
the field use: a phone that has loaded the model loses its signal, the tab is reloaded (the
service worker answers), and a real cannabis photo still gets the service's verdict on the
phone, marked as the phone's.
"""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from web_pages import sign_in
from web_server import serve

pytestmark = pytest.mark.browser

LABELS = ("cannabis", "ornamental_poppy", "cannabis_lookalike", "background")

# Runs in the page: the same module instance the page uses (ES modules are loaded once per URL).
SCORE_IN_PAGE = """async (photos) => {
  const ondevice = await import("./js/ondevice.js");
  await ondevice.load();
  const out = [];
  for (const b64 of photos) {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const { score, ms } = await ondevice.score(new Blob([bytes], { type: "image/jpeg" }));
    out.push({ score, ms });
  }
  return out;
}"""


def server_answer(server, photo: Path) -> dict:
    """The service's whole answer to ``POST /v1/score`` for one photo."""
    with server.client(server.keys.inspector) as client:
        response = client.post(
            "/v1/score", files=[("photos", (photo.name, photo.read_bytes(), "image/jpeg"))]
        )
    assert response.status_code == 200, response.text
    return response.json()


def server_score(server, photo: Path) -> dict:
    return server_answer(server, photo)["photos"][0]["score"]


def model_ready(page: Page) -> None:
    page.click(".tabs [data-view=capture]")
    # the first load fetches ~13 MB and compiles the WebAssembly runtime
    expect(page.locator("#model-status")).to_have_attribute("data-state", "ready", timeout=60000)


def test_chromium_scores_real_photos_like_the_service(phone, released_server, real_photo) -> None:
    photos = [real_photo(label, i) for label in LABELS for i in range(3)]
    page = phone(base_url=released_server.url).new_page()
    sign_in(page, released_server.keys.inspector)
    model_ready(page)
    in_page = page.evaluate(
        SCORE_IN_PAGE, [base64.b64encode(p.read_bytes()).decode() for p in photos]
    )
    verdicts = set()
    for photo, device in zip(photos, in_page, strict=True):
        server = server_score(released_server, photo)
        phone_score = device["score"]
        assert phone_score["source"] == "device"
        assert phone_score["model"] == server["model"]  # the score names its bundle
        assert phone_score["verdict"] == server["verdict"], photo.name
        assert phone_score["unusable_reason"] == server["unusable_reason"], photo.name
        assert phone_score["top_label"] == server["top_label"], photo.name
        assert phone_score["probabilities"].keys() == server["probabilities"].keys()
        for key, p in server["probabilities"].items():
            assert abs(phone_score["probabilities"][key] - p) <= 1e-3, (photo.name, key)
        levels = {s["key"]: s["level"] for s in server["species"]}
        assert {s["key"]: s["level"] for s in phone_score["species"]} == levels, photo.name
        verdicts.add(server["verdict"])
    # the photos reach more than one verdict, so agreement is not agreement on one answer
    assert len(verdicts) >= 2, verdicts


def test_offline_a_real_cannabis_photo_gets_the_services_verdict_on_the_phone(
    phone, released_server, real_photo
) -> None:
    photo = real_photo("cannabis", 1)
    expected = server_score(released_server, photo)
    context = phone(base_url=released_server.url)
    page = context.new_page()
    sign_in(page, released_server.keys.inspector)
    model_ready(page)

    context.set_offline(True)
    page.reload()  # no signal, tab reloaded: the shell, the card and the model from the phone
    model_ready(page)
    page.set_input_files("#photo-pick", str(photo))
    score = page.locator(".photo[data-photo='1'] .score")
    expect(score).to_have_attribute("data-source", "device", timeout=30000)
    expect(score).to_have_attribute("data-verdict", expected["verdict"])
    expect(page.locator(".photo[data-photo='1'] .device")).to_contain_text("本机识别")
    # filed offline, it waits in the queue with the phone's verdict beside it
    page.select_option("#site-type", "remote_plot")
    page.click("#submit")
    expect(page.locator("#filed-msg")).to_contain_text("已保存在本机")
    page.click(".tabs [data-view=records]")
    # filed, it is no longer a draft, though its phone verdict arrived after the draft began
    expect(page.locator("#draft-list li[data-draft]")).to_have_count(0)
    page.wait_for_timeout(1500)  # a late write would bring it back now
    page.reload()
    expect(page.locator("#draft-list li[data-draft]")).to_have_count(0)
    expect(page.locator("#queue-list li[data-id] .meta").first).to_contain_text(
        f"本机：{_VERDICT_ZH[expected['verdict']]}"
    )


_VERDICT_ZH = {"suspected": "疑似", "review": "需复核", "clear": "无警报", "unusable": "照片不可用"}


def test_online_the_services_verdict_is_shown_and_a_disagreement_is_said(
    phone, live_server, real_photo
) -> None:
    """The tiny colour-rule bundle runs on the phone too; the service's answer is altered on
    the way (as if another bundle had scored it) to see the page keep the service's verdict
    and say that the phone's differs."""
    page = phone().new_page()
    sign_in(page, live_server.keys.inspector)
    model_ready(page)

    photo = real_photo("ornamental_poppy", 15)
    answer = server_answer(live_server, photo)
    assert answer["photos"][0]["score"]["verdict"] == "review"
    answer["photos"][0]["score"]["verdict"] = "suspected"

    def other_verdict(route) -> None:  # (Playwright cannot re-send a page's multipart blob)
        route.fulfill(json=answer)

    page.route("**/v1/score", other_verdict)
    page.set_input_files("#photo-pick", str(photo))
    card = page.locator(".photo[data-photo='1']")
    expect(card.locator(".score")).to_have_attribute("data-source", "server")
    expect(card.locator(".score")).to_have_attribute("data-verdict", "suspected")
    expect(card.locator(".disagree")).to_contain_text("本机模型判断为「需复核」")
    expect(card.locator(".disagree")).to_contain_text("以服务器结论为准")


@pytest.fixture(scope="module")
def swap_server(tmp_path_factory: pytest.TempPathFactory):
    """A service whose registry holds two tiny bundles, 1.0.0 served first."""
    from plantscout.model.lifecycle.registry import Registry
    from plantscout.model.testing import build_tiny_bundle

    root = tmp_path_factory.mktemp("web-swap")
    registry = Registry(root / "var" / "models")
    for version in ("1.0.0", "2.0.0"):
        registry.add(build_tiny_bundle(root / "bundles" / version, name="swap", version=version))
    registry.promote("1.0.0")
    yield from serve(None, root / "var")


MODEL_CACHE = """async () => {
  const cache = await caches.open("plantscout-model");
  return (await cache.keys()).map((r) => new URL(r.url).pathname + new URL(r.url).search);
}"""


def test_the_phone_follows_a_promoted_bundle_and_keeps_only_the_new_one(
    phone, swap_server, real_photo
) -> None:
    context = phone(base_url=swap_server.url)
    page = context.new_page()
    sign_in(page, swap_server.keys.inspector)
    model_ready(page)
    expect(page.locator("#model-status")).to_contain_text("swap 1.0.0")
    with swap_server.client(swap_server.keys.admin) as client:
        promoted = client.post("/v1/models/promote", json={"version": "2.0.0"})
        assert promoted.status_code == 200, promoted.text
        card = client.get("/v1/model/card").json()
    assert card["model"]["version"] == "2.0.0"

    page.reload()  # online: the card names the new bundle, which is fetched by its sha256
    model_ready(page)
    expect(page.locator("#model-status")).to_contain_text("swap 2.0.0")
    kept = page.evaluate(MODEL_CACHE)
    onnx = [u for u in kept if u.startswith("/v1/model/onnx")]
    assert onnx == [f"/v1/model/onnx?sha256={card['files']['network']['sha256']}"], kept

    context.set_offline(True)
    page.reload()
    model_ready(page)
    expect(page.locator("#model-status")).to_contain_text("swap 2.0.0")
    page.set_input_files("#photo-pick", str(real_photo("ornamental_poppy", 13)))
    expect(page.locator("#plants .photo[data-photo='1'] .score")).to_have_attribute(
        "data-source", "device"
    )
