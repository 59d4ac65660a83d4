"""Steps every browser test takes (imported by the test modules of this folder)."""

from __future__ import annotations

from playwright.sync_api import Page, expect


def sign_in(page: Page, key: str) -> None:
    """First visit: no key yet, so the page opens on Settings; enter the key once."""
    page.goto("/")
    expect(page.locator("#view-settings")).to_be_visible()
    page.fill("#api-key", key)
    page.click("#key-form button[type=submit]")
    expect(page.locator("#key-msg")).to_have_class("notice ok")


def map_point(page: Page, record_id: str, map_id: str = "map"):
    """A record's point on a map, zooming into the numbered marker that holds it if records
    near it are merged at the current zoom (as a reviewer would tap it)."""
    point = page.locator(f"#{map_id} path.pt[data-id='{record_id}']")
    for _ in range(8):
        if point.count():
            return point
        group = page.locator(f"#{map_id} .cluster[data-ids~='{record_id}']")
        if group.count():
            group.click()
        page.wait_for_timeout(200)
    expect(point).to_have_count(1)
    return point
