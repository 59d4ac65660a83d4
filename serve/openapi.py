"""The OpenAPI document lists every status each operation can answer.

Most error answers do not come from a route's own code but from what every request passes
through, so they are added here by rule rather than repeated on each route:

- every operation: 422 (validation; a NUL in the URL; a field given twice);
- operations behind a key (they declare a security scheme): 401 and 403;
- operations with path parameters: 404;
- operations with a request body: 400 (unparseable), 401 (checked before the body is read),
  408 (the body stopped arriving), 413 (too large) and 503 (the in-flight upload budget is
  full, with ``Retry-After``);
- every error answer is documented as JSON (``ErrorResponse``), also on routes that answer
  GeoJSON, CSV or files on success.

What only a route knows (409, 412, 503 without a model, a 200 for a retry) is declared on the
route with ``schemas.common.error_responses``. ``tests/serve/test_serve_openapi.py`` checks
the document against answers the running service gives.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from .schemas.common import ERROR_TEXT

_ERROR_SCHEMA = {"$ref": "#/components/schemas/ErrorResponse"}
_BODY_ERRORS = (400, 401, 408, 413, 503)


def install(app: FastAPI) -> None:
    """Make ``app.openapi()`` return the document with the rule-based answers added."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            for path, operations in schema.get("paths", {}).items():
                for operation in operations.values():
                    _add_answers(path, operation)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def allowed_methods(app: FastAPI, path: str) -> list[str] | None:
    """Every method some operation takes at ``path`` (for a 405's ``Allow``), or None.

    Starlette answers a wrong method with the methods of the first route matching the path
    only (``GET /v1/inspections`` and ``POST /v1/inspections`` are two routes); the document
    knows all of them.
    """
    table = getattr(app.state, "allowed_methods", None)
    if table is None:
        table = []
        for template, operations in app.openapi().get("paths", {}).items():
            pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
            methods = {m.upper() for m in operations}
            if "GET" in methods:
                methods.add("HEAD")
            table.append((re.compile(pattern + "$"), methods))
        app.state.allowed_methods = table
    found = set().union(*(methods for regex, methods in table if regex.match(path)))
    return sorted(found) or None


def _add_answers(path: str, operation: dict[str, Any]) -> None:
    codes = {422}
    if operation.get("security"):
        codes |= {401, 403}
    if "{" in path:
        codes.add(404)
    if "requestBody" in operation:
        codes |= set(_BODY_ERRORS)
    responses = operation.setdefault("responses", {})
    for code in sorted(codes):
        responses.setdefault(
            str(code),
            {
                "description": ERROR_TEXT[code],
                "content": {"application/json": {"schema": _ERROR_SCHEMA}},
            },
        )
    for status, response in responses.items():
        # Errors are JSON whatever the route answers on success (GeoJSON, CSV, a file);
        # FastAPI would document them in the route's own media type.
        if status[:1] in "45" and status.isdigit():
            response["content"] = {"application/json": {"schema": _ERROR_SCHEMA}}
    if "503" in responses and "requestBody" in operation:
        responses["503"].setdefault("headers", {})["Retry-After"] = {
            "description": "Seconds to wait when the upload budget is full.",
            "schema": {"type": "integer"},
        }
