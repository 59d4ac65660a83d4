"""A local stand-in for the iNaturalist and GBIF APIs, serving recorded-shape responses.

The JSON under ``recorded/`` has the shape the real APIs return (fields trimmed); the server
applies the paging and filter parameters the importers send (``id_above``, ``per_page``,
``photo_license``, ``offset``, ``limit``) the way the APIs document them, and serves real
plants-v1 photos as the media. It logs every request and can be told to start failing, so
tests can interrupt an import and check that the rerun resumes.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

RECORDED = Path(__file__).parent / "recorded"


@dataclass
class FakeApi:
    base: str = ""
    photos: dict[str, bytes] = field(default_factory=dict)  # media path -> bytes
    log: list[str] = field(default_factory=list)  # request paths with query
    media_hits: Counter[str] = field(default_factory=Counter)
    fail_media_after: int | None = None  # after N media responses, answer 503
    retry_after_once: str | None = None  # answer the next request 429 with this Retry-After
    media_served: int = 0

    def recorded(self, name: str) -> dict:
        text = (RECORDED / name).read_text("utf-8").replace("{base}", self.base)
        return json.loads(text)

    def media_url_path(self, path: str) -> bool:
        return path.startswith(("/photos/", "/media/"))


def _handler(api: FakeApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:  # keep pytest output clean
            pass

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            url = urllib.parse.urlsplit(self.path)
            query = dict(urllib.parse.parse_qsl(url.query))
            api.log.append(self.path)
            if api.retry_after_once is not None:
                value, api.retry_after_once = api.retry_after_once, None
                self._send(429, b"slow down", "text/plain", {"Retry-After": value})
                return
            if api.media_url_path(url.path):
                if api.fail_media_after is not None and api.media_served >= api.fail_media_after:
                    self._send(503, b"unavailable", "text/plain")
                    return
                data = api.photos.get(url.path)
                if data is None:
                    self._send(404, b"not found", "text/plain")
                    return
                api.media_served += 1
                api.media_hits[url.path] += 1
                self._send(200, data, "image/jpeg")
                return
            if url.path == "/v1/observations":
                body = _observations(api.recorded("inaturalist_observations.json"), query)
            elif url.path == "/v1/species/match":
                body = api.recorded("gbif_species_match.json")
            elif url.path == "/v1/occurrence/search":
                body = _occurrences(api.recorded("gbif_occurrences.json"), query)
            else:
                self._send(404, b"no such endpoint", "text/plain")
                return
            self._send(200, json.dumps(body).encode(), "application/json")

        def _send(
            self, status: int, body: bytes, kind: str, headers: dict[str, str] | None = None
        ) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)

    return Handler


def _observations(data: dict, query: dict[str, str]) -> dict:
    """id_above / per_page / photo_license / order_by=id asc, as the v1 API applies them."""
    assert query.get("quality_grade") == "research", query
    assert query.get("order_by") == "id" and query.get("order") == "asc", query
    accepted = set(query.get("photo_license", "").split(",")) - {""}
    above = int(query.get("id_above", 0))
    per_page = int(query.get("per_page", 30))
    results = [
        o
        for o in sorted(data["results"], key=lambda o: o["id"])
        if o["id"] > above
        and (not accepted or any(p["license_code"] in accepted for p in o["photos"]))
    ]
    return {
        **data,
        "total_results": len(results),
        "per_page": per_page,
        "results": results[:per_page],
    }


def _occurrences(data: dict, query: dict[str, str]) -> dict:
    offset, limit = int(query.get("offset", 0)), int(query.get("limit", 20))
    results = data["results"]
    if "basisOfRecord" in query:
        results = [r for r in results if r["basisOfRecord"] == query["basisOfRecord"]]
    page = results[offset : offset + limit]
    return {
        **data,
        "offset": offset,
        "limit": limit,
        "count": len(results),
        "endOfRecords": offset + limit >= len(results),
        "results": page,
    }


@pytest.fixture()
def fake_api(real_photo) -> Iterator[FakeApi]:
    """The fake API on a free local port; media are real ornamental-poppy photos."""
    api = FakeApi()
    photo_ids = ["9001", "9002", "9003", "9004", "9005", "9006", "9007", "9008", "9009"]
    for index, photo in enumerate(photo_ids):
        api.photos[f"/photos/{photo}/medium.jpg"] = real_photo(
            "ornamental_poppy", index
        ).read_bytes()
    for index, name in enumerate(["4001-a", "4002-a", "4002-b", "4003-a", "4004-a", "4005-a"]):
        api.photos[f"/media/{name}.jpg"] = real_photo("ornamental_poppy", 20 + index).read_bytes()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(api))
    api.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()
