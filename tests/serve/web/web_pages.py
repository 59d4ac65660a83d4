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
