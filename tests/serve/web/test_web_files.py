"""The field page's files as the service serves them (no browser needed).

A service worker that cannot fetch one file of its shell never installs, and the page then
does not open offline; so every file it lists must be served.
"""

from __future__ import annotations

import json
import re

import httpx
from PIL import Image

from plantscout.model import TAXONOMY
from plantscout.serve.page_files import WEB_DIR


def test_page_manifest_and_service_worker_shell_are_served(live_server) -> None:
    with httpx.Client(base_url=live_server.url, timeout=30) as client:
        page = client.get("/")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert page.headers["cache-control"] == "no-cache"
        assert 'rel="manifest"' in page.text

        module = client.get("/js/app.js")
        assert module.headers["content-type"].startswith("text/javascript")

        manifest = client.get("/manifest.webmanifest")
        assert manifest.headers["content-type"].startswith("application/manifest+json")
        body = manifest.json()
        assert body["display"] == "standalone" and body["start_url"]
        sizes = set()
        for icon in body["icons"]:
            response = client.get(f"/{icon['src']}")
            assert response.status_code == 200, icon
            if icon["type"] == "image/png":
                with Image.open(WEB_DIR / icon["src"]) as image:
                    assert f"{image.width}x{image.height}" == icon["sizes"]
                sizes.add(icon["sizes"])
        assert {"192x192", "512x512"} <= sizes  # what install prompts need

        worker = client.get("/sw.js").text
        shell = json.loads(
            re.search(r"const SHELL = (\[.*?\]);", worker, re.S)[1].replace(",\n]", "]")
        )
        assert "index.html" in shell and "js/app.js" in shell
        for path in shell:
            assert client.get(f"/{path}").status_code == 200, path
        # every module the page imports is in the shell, or the page breaks offline
        modules = {f"js/{p.name}" for p in (WEB_DIR / "js").glob("*.js")}
        assert modules <= set(shell)


def test_no_file_of_the_page_reaches_outside_the_service() -> None:
    """No CDN, no online tiles: the page must work on a closed network."""
    own = [WEB_DIR / "index.html", WEB_DIR / "app.css", WEB_DIR / "sw.js"]
    own += sorted((WEB_DIR / "js").glob("*.js"))
    for path in own:
        assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}/", path.read_text()), path
    leaflet = (WEB_DIR / "vendor" / "leaflet" / "leaflet.js").read_text()
    assert "Leaflet 1.9.4" in leaflet
    assert (WEB_DIR / "vendor" / "leaflet" / "LICENSE").is_file()


def test_taxonomy_gives_names_and_field_marks_in_both_languages(live_server) -> None:
    labels = httpx.get(f"{live_server.url}/v1/taxonomy", timeout=30).json()["labels"]
    assert [label["key"] for label in labels] == list(TAXONOMY)
    for label in labels:
        assert label["name"]["zh"] and label["name"]["en"]
    poppy = next(label for label in labels if label["key"] == "opium_poppy")
    assert poppy["field_marks"] and all(m["zh"] and m["en"] for m in poppy["field_marks"])


def test_me_says_who_a_key_is(live_server) -> None:
    with live_server.client(live_server.keys.inspector) as client:
        me = client.get("/v1/me").json()
    assert me["role"] == "inspector" and me["unit"] == "城关社区"
    assert httpx.get(f"{live_server.url}/v1/me", timeout=30).status_code == 401
