"""One ASGI middleware for every request: the service's door, plus metrics and an access log.

Written as plain ASGI (not ``BaseHTTPMiddleware``) because what it guards happens *before*
the body is read, and while it streams in. In order:

1. a NUL character in the URL path or query is a 422 (``bounds.py``: no path id or filter
   can carry one to the database);
2. a declared ``Content-Length`` above the per-request limit is a 413;
3. **a request with a body must present a valid API key** (401 otherwise; the public
   ``/v1/public/`` endpoints excepted, which their own gate bounds): the key is checked
   before a byte of the body is read, so 100 MB sent without a key cost a header read. The
   principal is kept for the route's own role check (``deps.require``), which reuses it;
4. **the global in-flight budget**: the bodies being received at once may not exceed
   ``max_inflight_upload_bytes`` (declared lengths are reserved up front, chunked bodies as
   they arrive); past it the answer is 503 with ``Retry-After``, before reading;
5. while the body streams in: bytes are counted (413 for a chunked body over the limit) and a
   stalled upload is cut off (408 after ``request_body_idle_s`` without a byte, or when the
   whole body takes longer than ``request_body_timeout_s``).

Errors raised from the body stream are Starlette ``HTTPException``s, which FastAPI's form
parser passes through instead of turning them into a 400. Every response gets the request
id and ``X-Content-Type-Options: nosniff``.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any

import anyio
import anyio.to_thread
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import APIError, error_body
from .metrics import Metrics
from .public_gate import PUBLIC_PREFIX

log = logging.getLogger("plantscout.serve.access")

RETRY_AFTER_S = 5
_OURS = (
    b"x-request-id",
    b"x-content-type-options",
)  # when the in-flight budget is full: phones retry, uploads drain quickly


@dataclass(frozen=True)
class DoorLimits:
    max_body_bytes: int
    max_inflight_bytes: int
    body_idle_s: float
    body_timeout_s: float


class InflightBudget:
    """Bytes of request bodies being received at once. Used on the event loop only."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.held = 0

    def take(self, n: int) -> bool:
        if self.held + n > self.limit:
            return False
        self.held += n
        return True

    def give(self, n: int) -> None:
        self.held -= n


class RequestMiddleware:
    def __init__(self, app: ASGIApp, *, metrics: Metrics, limits: DoorLimits) -> None:
        self.app = app
        self.metrics = metrics
        self.limits = limits
        self.budget = InflightBudget(limits.max_inflight_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        request_id = (headers.get("x-request-id") or uuid.uuid4().hex[:16])[:64]
        scope.setdefault("state", {})["request_id"] = request_id
        status = {"code": 500}
        started = time.perf_counter()
        self.metrics.in_flight.inc()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                message["headers"] = [
                    *(h for h in message.get("headers", []) if h[0].lower() not in _OURS),
                    (b"x-request-id", request_id.encode()),
                    # Browsers must take the declared type: an uploaded "photo" that is really
                    # HTML must never be sniffed and run from this origin.
                    (b"x-content-type-options", b"nosniff"),
                ]
            await send(message)

        reserved = 0
        try:
            refusal = await self._at_the_door(scope, headers)
            if refusal is not None:
                await self._refuse(send_with_id, *refusal)
                return
            declared = _declared_length(headers)
            if declared:
                if not self.budget.take(declared):
                    await self._busy(send_with_id)
                    return
                reserved = declared
            stream = _BodyStream(receive, self.limits, self.budget, reserved)
            try:
                await self.app(scope, stream.receive, send_with_id)
            finally:
                self.budget.give(stream.reserved)
        finally:
            self.metrics.in_flight.dec()
            elapsed = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            method = scope["method"]
            self.metrics.requests.labels(method, route, str(status["code"])).inc()
            self.metrics.latency.labels(method, route).observe(elapsed)
            state = scope.get("state", {})
            principal: Any = state.get("principal")
            # No address is logged for the public pages and their files (issue 15: a tipster's
            # IP is kept no longer than the rate-limit window, and only as a keyed hash).
            anonymous = state.get("public") or not scope["path"].startswith("/v1/")
            log.info(
                "request",
                extra={
                    "request_id": request_id,
                    "method": method,
                    "route": route,
                    "path": scope["path"],
                    "status": status["code"],
                    "duration_ms": round(elapsed * 1000, 1),
                    "key_id": getattr(principal, "key_id", None),
                    "client": None if anonymous else (scope.get("client") or ("", 0))[0],
                },
            )

    async def _at_the_door(
        self, scope: Scope, headers: dict[str, str]
    ) -> tuple[int, str, str, dict[str, str]] | None:
        """(status, code, message, headers) when the request is refused before its body."""
        if _url_has_nul(scope):
            message = "the URL holds a NUL character (%00), which no id or filter can contain"
            return 422, "invalid", message, {}
        declared = _declared_length(headers)
        if declared is not None and declared > self.limits.max_body_bytes:
            message = f"request body is larger than {self.limits.max_body_bytes:,} bytes"
            return 413, "payload_too_large", message, {}
        # The public endpoints (check page, tip-offs) take bodies without a key by design;
        # their own gate (public_gate.py) bounds them by rate and size before reading.
        keyless = scope["path"].startswith(PUBLIC_PREFIX)
        if _has_body(headers) and scope["method"] != "OPTIONS" and not keyless:
            services = getattr(scope["app"].state, "services", None)
            if services is not None:
                from .deps import identify, presented_key

                key = presented_key(headers.get("authorization"), headers.get("x-api-key"))
                try:
                    principal = await anyio.to_thread.run_sync(identify, services, key)
                except APIError as exc:
                    return exc.status, exc.code, exc.message, exc.headers or {}
                scope["state"]["principal"] = principal
        return None

    async def _busy(self, send: Send) -> None:
        await self._refuse(
            send,
            503,
            "busy",
            "the server is receiving as many uploads as it can hold; retry shortly",
            {"Retry-After": str(RETRY_AFTER_S)},
        )

    @staticmethod
    async def _refuse(
        send: Send, status: int, code: str, message: str, headers: dict[str, str]
    ) -> None:
        body = json.dumps(error_body(code, message)).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),  # the unread body must not become a request
                    *((k.lower().encode(), v.encode()) for k, v in headers.items()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _BodyStream:
    """``receive`` for the app while the body streams in: counted, timed, within budget."""

    def __init__(
        self, receive: Receive, limits: DoorLimits, budget: InflightBudget, reserved: int
    ) -> None:
        self._receive = receive
        self.limits = limits
        self.budget = budget
        self.reserved = reserved  # given back by the middleware when the request ends
        self.received = 0
        self.done = False
        self.deadline: float | None = None

    async def receive(self) -> Message:
        if self.done:  # e.g. a streaming response waiting for the client to disconnect
            return await self._receive()
        now = time.monotonic()
        if self.deadline is None:
            self.deadline = now + self.limits.body_timeout_s
        wait = min(self.limits.body_idle_s, self.deadline - now)
        try:
            with anyio.fail_after(max(wait, 0.0)):
                message = await self._receive()
        except TimeoutError:
            raise HTTPException(
                408,
                f"the request body stopped arriving (nothing for {self.limits.body_idle_s:g} s, "
                f"or the whole body took over {self.limits.body_timeout_s:g} s)",
                headers={"Connection": "close"},
            ) from None
        if message["type"] != "http.request":
            self.done = True
            return message
        self.received += len(message.get("body", b""))
        if self.received > self.limits.max_body_bytes:
            raise HTTPException(
                413, f"request body is larger than {self.limits.max_body_bytes:,} bytes"
            )
        if self.received > self.reserved:  # a chunked body: reserve as it arrives
            extra = self.received - self.reserved
            if not self.budget.take(extra):
                raise HTTPException(
                    503,
                    "the server is receiving as many uploads as it can hold; retry shortly",
                    headers={"Retry-After": str(RETRY_AFTER_S)},
                )
            self.reserved += extra
        if not message.get("more_body", False):
            self.done = True
        return message


def _declared_length(headers: dict[str, str]) -> int | None:
    declared = headers.get("content-length")
    return int(declared) if declared is not None and declared.isdigit() else None


def _has_body(headers: dict[str, str]) -> bool:
    return bool(_declared_length(headers)) or "chunked" in headers.get("transfer-encoding", "")


def _url_has_nul(scope: Scope) -> bool:
    """Path ids and query filters are text the database compares with its own; PostgreSQL
    refuses a NUL in text, so refusing it here keeps every route from answering 500."""
    query = scope.get("query_string", b"")
    return "\x00" in scope["path"] or b"%00" in query or b"\x00" in query
