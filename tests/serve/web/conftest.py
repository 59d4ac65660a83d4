"""A real service over HTTP and a headless Debian Chromium driven by Playwright.

The server is the real app (``create_app``) under uvicorn on a free port, with a temporary
SQLite file and photo store and the tiny colour-rule bundle, so verdicts are predictable. The
browser is ``/usr/bin/chromium`` (Playwright's own browser downloads are not used). Without it
the tests skip locally and fail in CI (``PLANTSCOUT_REQUIRE_BROWSER=1``).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from web_server import LiveServer, serve

REPO = Path(__file__).resolve().parents[3]
CHROMIUM = os.environ.get("PLANTSCOUT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # without these Chromium keeps calling home, which floods a closed network
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {"width": 390, "height": 844}
ARTIFACTS = Path(os.environ.get("PLANTSCOUT_TEST_ARTIFACTS", REPO / "test-artifacts")) / "web"
# Where the mocked device is: a plot in Yunnan.
HERE = {"latitude": 25.0431, "longitude": 102.7065, "accuracy": 8}


@pytest.fixture(scope="session")
def live_server(
    tiny_bundle: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    yield from serve(tiny_bundle, tmp_path_factory.mktemp("web-service"))


@pytest.fixture(scope="session")
def released_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The same service serving the released bundle (the real network), for on-device tests."""
    from plantscout.model.bundle import RELEASES_DIR

    bundle = RELEASES_DIR / (RELEASES_DIR / "DEFAULT").read_text().strip()
    yield from serve(bundle, tmp_path_factory.mktemp("web-released"))


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is None:
        message = f"{CHROMIUM} is missing (apt-get install chromium fonts-wqy-microhei)"
        if os.environ.get("PLANTSCOUT_REQUIRE_BROWSER") == "1":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def phone(browser, live_server: LiveServer):
    """A new phone: empty storage, geolocation granted and mocked, 390×844 viewport."""
    contexts = []

    def make(**overrides):
        options = dict(
            base_url=live_server.url,
            viewport=PHONE,
            device_scale_factor=1,
            is_mobile=True,
            has_touch=True,
            locale="zh-CN",
            geolocation=HERE,
            permissions=["geolocation"],
        )
        options.update(overrides)
        context = browser.new_context(**options)
        context.set_default_timeout(30000)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


@pytest.fixture(scope="session")
def here() -> dict[str, float]:
    """The mocked device position (Playwright geolocation)."""
    return dict(HERE)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
