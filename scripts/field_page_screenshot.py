"""Make docs/field-page.png: three phone screens of the field page, side by side.

    python scripts/field_page_screenshot.py [--out docs/field-page.png]

Starts the real service with the default release on a fresh data directory, drives the page in
Debian Chromium (Playwright, 390×844) with real photos from ../shared, and shoots: (1) with no
signal, a cannabis photo scored on the phone; (2) Records: the notices, my records on the map
and the list with the review outcome; (3) in English, a record of several patches with counts,
growth stage and the photo guide.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import sys
import tempfile
from pathlib import Path

import httpx
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
from load_service import SHARED, free_port, pick_model, start_server  # noqa: E402

CHROMIUM = os.environ.get("PLANTSCOUT_CHROMIUM", "/usr/bin/chromium")
GAP = 16


def photo(label: str, index: int) -> Path:
    manifest = SHARED / "datasets" / "plants-v1" / "manifest.csv"
    with open(manifest, newline="", encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["label"] == label and r["kind"] == "photo"]
    return manifest.parent / rows[index % len(rows)]["path"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(REPO / "docs" / "field-page.png"))
    args = parser.parse_args()
    from playwright.sync_api import expect, sync_playwright

    with tempfile.TemporaryDirectory(prefix="plantscout-shot-") as tmp:
        work = Path(tmp)
        bundle, _ = pick_model(None, work)
        env = {
            **os.environ,
            "PLANTSCOUT_DATA_DIR": str(work / "var"),
            "PLANTSCOUT_MODEL_PATH": bundle,
            "PLANTSCOUT_LOG_JSON": "false",
            "PLANTSCOUT_LOG_LEVEL": "WARNING",
        }
        os.environ.update({k: v for k, v in env.items() if k.startswith("PLANTSCOUT_")})
        from plantscout.serve.app import open_database
        from plantscout.serve.keys import mint_key
        from plantscout.serve.settings import Settings
        from plantscout.serve.vocab import Role

        db = open_database(Settings(_env_file=None))
        with db.write() as session:
            inspector = mint_key(session, role=Role.INSPECTOR, name="王警官", unit="城关派出所")
            reviewer = mint_key(session, role=Role.REVIEWER, name="李复核", unit=None)
        db.dispose()
        port = free_port()
        server = start_server(env, port)
        url = f"http://127.0.0.1:{port}"
        shots: list[bytes] = []
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=CHROMIUM, args=["--headless", "--no-sandbox"]
                )
                context = browser.new_context(
                    base_url=url,
                    viewport={"width": 390, "height": 844},
                    is_mobile=True,
                    has_touch=True,
                    locale="zh-CN",
                    timezone_id="Asia/Shanghai",
                    geolocation={"latitude": 25.0431, "longitude": 102.7065, "accuracy": 8},
                    permissions=["geolocation"],
                )
                context.set_default_timeout(120000)
                page = context.new_page()
                page.goto("/")
                page.fill("#api-key", inspector.key)
                page.click("#key-form button[type=submit]")
                page.click(".tabs [data-view=capture]")
                expect(page.locator("#model-status")).to_have_attribute("data-state", "ready")
                # A record filed online, then reviewed and eradicated.
                page.set_input_files("#photo-pick", str(photo("cannabis", 0)))
                page.select_option("#site-type", "courtyard")
                page.click("#submit")
                expect(page.locator("#filed-msg")).to_contain_text("已提交")
                first = page.locator("#filed").get_attribute("data-inspection")
                with httpx.Client(base_url=url, headers={"X-API-Key": reviewer.key}) as client:
                    client.patch(
                        f"/v1/inspections/{first}",
                        json={
                            "review": {"state": "confirmed_cannabis", "note": "现场确认"},
                            "eradication": {
                                "date": "2026-06-02",
                                "plants": 14,
                                "method": "uprooted",
                            },
                        },
                    ).raise_for_status()
                page.click("#new-inspection")
                # (1) No signal: the verdict on the phone.
                context.set_offline(True)
                page.set_input_files("#photo-pick", str(photo("cannabis", 1)))
                expect(page.locator("#plants .photo[data-photo='1'] .score")).to_have_attribute(
                    "data-source", "device"
                )
                page.evaluate(
                    "window.scrollTo(0, document.querySelector('#model-status')"
                    ".getBoundingClientRect().top + window.scrollY - 70)"
                )
                shots.append(page.screenshot())
                page.select_option("#site-type", "remote_plot")
                page.click("#submit")
                expect(page.locator("#filed-msg")).to_contain_text("已保存在本机")
                # (2) Signal back: sent, notices, my records.
                context.set_offline(False)
                page.click(".tabs [data-view=records]")
                expect(page.locator("#queue-list li[data-id]")).to_have_count(0)
                page.click("#mine-refresh")
                expect(page.locator("#mine-list li[data-id]")).to_have_count(2)
                expect(page.locator("#notices li")).to_have_count(3)
                page.evaluate("window.scrollTo(0, 0)")
                shots.append(page.screenshot())
                # (3) English, several patches.
                page.click("#lang")
                page.click(".tabs [data-view=capture]")
                page.click("#new-inspection") if page.locator("#filed").is_visible() else None
                page.set_input_files("#photo-pick", str(photo("cannabis", 2)))
                plant = page.locator(".plant[data-plant='1']")
                plant.locator("select").first.select_option("patch")
                plant.locator("input[type=number]").nth(0).fill("40")
                plant.locator("input[type=number]").nth(1).fill("12.5")
                plant.locator("select").nth(1).select_option("flowering")
                page.click("#add-plant")
                page.evaluate(
                    "window.scrollTo(0, document.querySelector('.plant[data-plant=\"1\"] .plant-fields')"
                    ".getBoundingClientRect().top + window.scrollY - 330)"
                )
                shots.append(page.screenshot())
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=60)

    images = [Image.open(io.BytesIO(s)).convert("RGB") for s in shots]
    width = sum(i.width for i in images) + GAP * (len(images) - 1)
    sheet = Image.new("RGB", (width, max(i.height for i in images)), "white")
    x = 0
    for image in images:
        sheet.paste(image, (x, 0))
        x += image.width + GAP
    sheet.save(args.out, optimize=True)
    print(f"wrote {args.out} ({sheet.width}×{sheet.height})")


if __name__ == "__main__":
    main()
