"""One ASGI middleware for every request: id, size limit, metrics and an access log line.

Written as plain ASGI (not ``BaseHTTPMiddleware``) so it can refuse an oversized body while it
streams in: a declared ``Content-Length`` above the limit is refused before a byte is read,
and a chunked body is counted as it arrives. Raising Starlette's ``HTTPException`` from the
body stream lets FastAPI's form parser pass the 413 through instead of turning it into a 400.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import error_body
from .metrics import Metrics

log = logging.getLogger("plantscout.serve.access")


class RequestMiddleware:
    def __init__(self, app: ASGIApp, *, metrics: Metrics, max_body_bytes: int) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body = max_body_bytes

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
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        received = 0

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    raise HTTPException(413, f"request body is larger than {self.max_body:,} bytes")
            return message

        try:
            declared = headers.get("content-length")
            if declared is not None and declared.isdigit() and int(declared) > self.max_body:
                await self._refuse(
                    send_with_id,
                    413,
                    "payload_too_large",
                    f"request body is larger than {self.max_body:,} bytes",
                )
            else:
                await self.app(scope, counted_receive, send_with_id)
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

    @staticmethod
    async def _refuse(send: Send, status: int, code: str, message: str) -> None:
        body = json.dumps(error_body(code, message)).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
