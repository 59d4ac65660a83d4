"""One JSON error shape for every failure, and the handlers that produce it.

``{"error": {"code": "...", "message": "...", "details": [...]}}``: ``code`` is stable for
clients (the field app translates it), ``message`` is a sentence that says what is wrong, and
``details`` points at fields (``{"field": "lat", "message": ...}``) or photos
(``{"photo": 2, "filename": ..., "code": "truncated_image"}``). Handlers never leak
tracebacks; unexpected errors are logged with the request id and answered with a 500.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from plantscout.model.errors import ImageError, ImageTooLarge

log = logging.getLogger("plantscout.serve")


class APIError(Exception):
    """An error with an HTTP status, a stable code and a message for people."""

    status = 400
    code = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []
        self.headers = headers


class BadRequest(APIError):
    status, code = 400, "bad_request"


class Unauthorized(APIError):
    status, code = 401, "unauthorized"


class Forbidden(APIError):
    status, code = 403, "forbidden"


class NotFound(APIError):
    status, code = 404, "not_found"


class Conflict(APIError):
    status, code = 409, "conflict"


class PreconditionFailed(APIError):
    status, code = 412, "precondition_failed"


class PayloadTooLarge(APIError):
    status, code = 413, "payload_too_large"


class Unprocessable(APIError):
    status, code = 422, "invalid"


class ServiceUnavailable(APIError):
    status, code = 503, "unavailable"


def photo_error(exc: ImageError, index: int, filename: str | None) -> APIError:
    """A rejected photo: 413 when too large, else 422; which photo and why in ``details``."""
    cls = PayloadTooLarge if isinstance(exc, ImageTooLarge) else Unprocessable
    error = cls(
        f"photo {index + 1} ({filename or 'unnamed'}): {exc.message}",
        details=[{"photo": index, "filename": filename, "code": exc.code, "message": exc.message}],
    )
    error.code = exc.code
    return error


def error_body(code: str, message: str, details: list[dict[str, Any]] | None = None) -> dict:
    return {"error": {"code": code, "message": message, "details": details or []}}


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "form")]
    return ".".join(parts) or "request"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(APIError)
    async def _api_error(_request: Request, exc: APIError) -> JSONResponse:
        return JSONResponse(
            error_body(exc.code, exc.message, exc.details), exc.status, headers=exc.headers
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        details = []
        for item in exc.errors():
            detail = {"field": _field(item.get("loc", ())), "message": item.get("msg", "")}
            if item.get("type"):
                detail["type"] = item["type"]
            details.append(detail)
        summary = "; ".join(f"{d['field']}: {d['message']}" for d in details[:5])
        return JSONResponse(
            error_body("invalid", f"request is invalid: {summary}", details), status_code=422
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {
            404: "not_found",
            405: "method_not_allowed",
            408: "request_timeout",
            413: "payload_too_large",
            503: "busy",
        }
        code = codes.get(exc.status_code, "http_error")
        message = exc.detail if isinstance(exc.detail, str) else "request failed"
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405:
            from .openapi import allowed_methods

            allowed = allowed_methods(_request.app, _request.url.path)
            if allowed:
                headers["Allow"] = ", ".join(allowed)
                message = f"{_request.method} is not allowed here; use {', '.join(allowed)}"
        return JSONResponse(error_body(code, message), exc.status_code, headers=headers or None)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception(
            "unhandled error", extra={"request_id": getattr(request.state, "request_id", None)}
        )
        return JSONResponse(
            error_body("internal_error", "internal error; the request was not completed"), 500
        )
