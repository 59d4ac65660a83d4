"""The gate in front of every public endpoint: switch, rate limits, body size. No IP kept.

Public endpoints (the check page, tip-offs, status look-ups, teaching material) are the only
ones without a key, so they are where floods and scrapers arrive. Each request passes, in
this order and before a byte of its body is read:

1. **the switch** (``public_enabled``): off means every public path is a 404;
2. **rate limits** (the ``limits`` library, moving windows): per client and per kind
   (``check``, ``tip``, ``read``), and global ones that bound the whole public surface and the
   model runs it may cause. A refused request gets 429 with ``Retry-After`` and does not count
   against the client, so a client that waits gets through again;
3. **the body limit** of its kind: a declared ``Content-Length`` over it is refused at once,
   a chunked body is counted as it streams in.

**No IP address is kept.** The limiter never sees one: it counts under
``HMAC(per-process random salt, address)`` (IPv6 by /64, the block one subscriber holds), the
salt lives in memory only and changes at every start, expired counters are dropped from memory
(:meth:`PublicGate.prune`), and the access log leaves the client address out for public
requests (the route marks them ``request.state.public``). Behind a reverse proxy, the server
must be told to trust its ``X-Forwarded-For`` (``plantscout serve`` does for 127.0.0.1), or
every resident shares the proxy's one address.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
import secrets
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.exceptions import HTTPException
from starlette.types import Message

from .errors import APIError, NotFound, PayloadTooLarge
from .settings import Settings

KINDS = ("check", "tip", "read")
# Paths that take a body without a key; a door that asks every body for a key must let these
# through (this gate then applies its own limits before the body is read).
PUBLIC_PREFIX = "/v1/public/"
_PRUNE_EVERY_S = 10.0


class RateLimited(APIError):
    status, code = 429, "rate_limited"


@dataclass(frozen=True)
class _Limit:
    scope: str  # "client" or "global"
    item: RateLimitItem


class PublicGate:
    """Rate limits and body sizes for the public endpoints of one app (thread-safe)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.storage = MemoryStorage()
        self.limiter = MovingWindowRateLimiter(self.storage)
        self._salt = secrets.token_bytes(32)
        self._lock = threading.Lock()
        self._last_prune = time.time()
        everyone = [_Limit("global", i) for i in parse_many(settings.public_limit_global)]
        per_client = {
            "check": parse_many(settings.public_limit_check),
            "tip": parse_many(settings.public_limit_tip),
            "read": parse_many(settings.public_limit_read),
        }
        self.limits: dict[str, list[_Limit]] = {
            kind: [_Limit("client", i) for i in per_client[kind]] + everyone for kind in KINDS
        }
        self.limits["check"] += [
            _Limit("global-check", i) for i in parse_many(settings.public_limit_global_check)
        ]

    def client_key(self, host: str | None) -> str:
        """What the limiter counts under: a keyed hash of the address, never the address."""
        try:
            address = ipaddress.ip_address(host or "")
            network = (
                ipaddress.ip_network(f"{address}/64", strict=False)
                if address.version == 6
                else ipaddress.ip_network(address)
            )
            text = str(network)
        except ValueError:
            text = host or "unknown"
        return hmac.new(self._salt, text.encode(), hashlib.sha256).hexdigest()[:32]

    def admit(self, kind: str, host: str | None) -> None:
        """Count one request of ``kind`` from ``host``, or raise 429 (counting nothing)."""
        client = self.client_key(host)
        limits = self.limits[kind]
        with self._lock:
            self.prune()
            refused = [
                limit
                for limit in limits
                if not self.limiter.test(limit.item, *self._ids(limit, client, kind))
            ]
            if not refused:
                for limit in limits:
                    self.limiter.hit(limit.item, *self._ids(limit, client, kind))
                return
        now = time.time()
        wait = max(
            self.limiter.get_window_stats(limit.item, *self._ids(limit, client, kind)).reset_time
            - now
            for limit in refused
        )
        seconds = max(1, math.ceil(wait))
        who = "this connection" if refused[0].scope == "client" else "everyone together"
        raise RateLimited(
            f"too many requests from {who} ({refused[0].item}); try again in {seconds} s",
            headers={"Retry-After": str(seconds)},
        )

    @staticmethod
    def _ids(limit: _Limit, client: str, kind: str) -> tuple[str, ...]:
        if limit.scope == "client":
            return ("client", kind, client)
        return (limit.scope,)

    def prune(self, *, force: bool = False) -> int:
        """Forget counters whose every entry has left its window (at most every 10 s unless
        forced). ``limits`` keeps a key with an empty list otherwise."""
        now = time.time()
        if not force and now - self._last_prune < _PRUNE_EVERY_S:
            return 0
        self._last_prune = now
        dropped = 0
        for key in list(self.storage.events):
            events = self.storage.events.get(key) or []
            if not events or events[0].expiry <= now:  # newest first
                self.storage.events.pop(key, None)
                self.storage.locks.pop(key, None)
                dropped += 1
        return dropped

    def live_keys(self) -> list[str]:
        """The counters held now (for tests and /metrics): keyed hashes only."""
        return list(self.storage.events)

    def body_limit(self, kind: str) -> int:
        """Bytes one request of ``kind`` may send (photos at their limit plus form fields)."""
        if kind in ("check", "tip"):
            return self.settings.public_max_photos * self.settings.public_max_photo_bytes + 65536
        return 16384


def gate_of(request: Request) -> PublicGate:
    """The app's gate, made on first use (one per app, so tests run several apps)."""
    state = request.app.state
    gate = getattr(state, "public_gate", None)
    if gate is None:
        with _GATE_LOCK:
            gate = getattr(state, "public_gate", None)
            if gate is None:
                gate = PublicGate(state.settings)
                state.public_gate = gate
    return gate


_GATE_LOCK = threading.Lock()


def client_host(request: Request) -> str | None:
    return request.client.host if request.client else None


def mark_public(request: Request) -> None:
    """Tell the access log to leave the client address out of this request's line."""
    request.state.public = True


def guard(request: Request, kind: str) -> PublicGate:
    """Switch, then rate limit; raises the 404 / 429. Used by routes and by the page files."""
    mark_public(request)
    if not request.app.state.settings.public_enabled:
        raise NotFound("the public pages are switched off on this server")
    gate = gate_of(request)
    try:
        gate.admit(kind, client_host(request))
    except RateLimited:
        from .services.tips.metrics import TipMetrics

        TipMetrics.of(request.app.state.metrics).rate_limited.labels(kind).inc()
        raise
    return gate


Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def public_route(kind: str) -> type[APIRoute]:
    """An ``APIRoute`` class whose requests pass the gate before their body is read."""

    class PublicRoute(APIRoute):
        def get_route_handler(self) -> Handler:
            handler = super().get_route_handler()

            async def gated(request: Request) -> Response:
                gate = guard(request, kind)
                limit = gate.body_limit(kind)
                declared = request.headers.get("content-length")
                if declared is not None and declared.isdigit() and int(declared) > limit:
                    raise PayloadTooLarge(f"request body is larger than {limit:,} bytes")
                received = 0
                receive = request.receive

                async def counted() -> Message:
                    nonlocal received
                    message = await receive()
                    if message["type"] == "http.request":
                        received += len(message.get("body", b""))
                        if received > limit:
                            raise HTTPException(413, f"request body is larger than {limit:,} bytes")
                    return message

                return await handler(Request(request.scope, counted))

            return gated

    PublicRoute.__name__ = f"PublicRoute_{kind}"
    return PublicRoute
