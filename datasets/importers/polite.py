"""A small HTTP client that is polite to public biodiversity APIs.

iNaturalist asks API users to stay around one request per second and GBIF throttles heavy
clients; an importer that hammers them gets its address blocked, which for a field office
can mean the whole office. So: one request at a time, a minimum interval between requests
(media downloads included), ``Retry-After`` honoured, exponential back-off on 429/5xx, a
descriptive User-Agent. Standard library only (urllib), so importing needs no extra install.
The base URL is configurable so tests point the importers at a local server.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any

from plantscout import __version__

USER_AGENT = f"plantscout/{__version__} (dataset importer; +https://github.com/plantscout)"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_RETRY_AFTER_S = 300.0


class FetchError(RuntimeError):
    """A request failed for good (after retries, or with a status retrying cannot fix)."""

    def __init__(self, url: str, reason: str, status: int | None = None) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.status = status


class PoliteClient:
    """GET JSON and bytes with rate limiting and retries.

    ``sleep`` and ``clock`` are injectable so tests can check the pacing without waiting.
    """

    def __init__(
        self,
        base_url: str,
        *,
        min_interval_s: float = 1.0,
        retries: int = 4,
        backoff_s: float = 2.0,
        timeout_s: float = 60.0,
        max_bytes: int = 50 * 1024 * 1024,
        user_agent: str = USER_AGENT,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base_url = base_url.rstrip("/") + "/"
        self.min_interval_s = max(0.0, min_interval_s)
        self.retries = max(0, retries)
        self.backoff_s = backoff_s
        self.timeout_s = timeout_s
        self.max_bytes = max_bytes
        self.user_agent = user_agent
        self._sleep = sleep
        self._clock = clock
        self._last: float | None = None
        self.requests = 0  # how many requests were actually sent (retries included)

    def url(self, path: str, params: Mapping[str, Any] | None = None) -> str:
        """``path`` relative to the base URL (or absolute), with query parameters."""
        url = path if "://" in path else urllib.parse.urljoin(self.base_url, path.lstrip("/"))
        if params:
            query = urllib.parse.urlencode(
                {k: v for k, v in params.items() if v is not None}, doseq=True
            )
            url = f"{url}{'&' if '?' in url else '?'}{query}"
        return url

    def get_json(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        url = self.url(path, params)
        body = self._get(url, accept="application/json")
        try:
            return json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise FetchError(url, f"response is not JSON: {exc}") from exc

    def get_bytes(self, url: str) -> bytes:
        return self._get(self.url(url), accept="image/*")

    # -- internals -------------------------------------------------------------------------
    def _wait_turn(self) -> None:
        if self._last is not None:
            remaining = self._last + self.min_interval_s - self._clock()
            if remaining > 0:
                self._sleep(remaining)
        self._last = self._clock()

    def _get(self, url: str, *, accept: str) -> bytes:
        attempt = 0
        while True:
            self._wait_turn()
            self.requests += 1
            request = urllib.request.Request(
                url, headers={"User-Agent": self.user_agent, "Accept": accept}
            )
            try:
                with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                    body = response.read(self.max_bytes + 1)
                if len(body) > self.max_bytes:
                    raise FetchError(url, f"response is larger than {self.max_bytes:,} bytes")
                return body
            except urllib.error.HTTPError as exc:
                status = exc.code
                retry_after = _retry_after(exc.headers.get("Retry-After") if exc.headers else None)
                if status not in RETRY_STATUSES or attempt >= self.retries:
                    raise FetchError(url, f"HTTP {status} {exc.reason}", status) from exc
            except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
                retry_after = None
                if attempt >= self.retries:
                    raise FetchError(url, f"connection failed: {exc}") from exc
            attempt += 1
            delay = retry_after if retry_after is not None else self.backoff_s * 2 ** (attempt - 1)
            self._sleep(min(delay, MAX_RETRY_AFTER_S))


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: fall back to exponential back-off
