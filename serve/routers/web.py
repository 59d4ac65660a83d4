"""The field web page (``serve/web/``, served at ``/``) and the one endpoint it adds.

The page is plain HTML, CSS and ES modules with no build step; Leaflet is vendored under
``web/vendor``. Two small endpoints serve it:

- ``GET /v1/taxonomy`` gives the species names, descriptions and field marks in Chinese and
  English straight from ``plantscout.model.taxonomy``, so the page never keeps a second copy
  that could drift. No key needed: it is reference text, and the page caches it for offline
  use before anyone has signed in.
- ``GET /v1/me`` says who a key is (name, role, unit), so the page can check a key when it is
  entered, fill in the unit, and show the review view only to reviewers.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, FastAPI
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel
from starlette.responses import Response
from starlette.types import Scope

from plantscout.model import TAXONOMY

from ..deps import require_inspector
from ..keys import Principal
from ..schemas.common import ERROR_RESPONSES
from ..vocab import Role

WEB_DIR = Path(__file__).resolve().parents[1] / "web"
# Browsers refuse ES modules served as text/plain, which some Windows registries map .js to.
mimetypes.add_type("text/javascript", ".js")
mimetypes.add_type("application/manifest+json", ".webmanifest")
mimetypes.add_type("text/javascript", ".mjs")
# WebAssembly.instantiateStreaming refuses anything else.
mimetypes.add_type("application/wasm", ".wasm")

router = APIRouter(tags=["field page"])


@router.get("/v1/taxonomy", summary="Species names and field marks (zh/en) for the field page")
def taxonomy() -> dict[str, Any]:
    return {"labels": [label.as_dict() for label in TAXONOMY.values()]}


class Me(BaseModel):
    key_id: str
    name: str
    role: Role
    unit: str | None


@router.get("/v1/me", response_model=Me, responses=ERROR_RESPONSES, summary="Who this API key is")
def me(principal: Principal = Depends(require_inspector)) -> Me:
    return Me(
        key_id=principal.key_id, name=principal.name, role=principal.role, unit=principal.unit
    )


# The page's own files only: no inline script, no eval, no plug-ins, no framing, and requests
# to this origin alone. Leaflet positions its panes with inline ``style`` attributes, hence
# 'unsafe-inline' for styles (which cannot run code). Should a stored value ever reach the DOM
# as markup despite the page building every node with textContent, an injected handler or
# script is refused by the browser instead of reading the API key from localStorage.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        # WebAssembly (onnxruntime-web, on-device scoring) needs 'wasm-unsafe-eval': it lets
        # the page compile WebAssembly, and nothing else (JavaScript eval stays refused).
        "script-src 'self' 'wasm-unsafe-eval'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' blob: data:",
        "connect-src 'self'",
        "worker-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


class _WebFiles(StaticFiles):
    """Static files that browsers revalidate (cheap 304s), so an update is never half-seen."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers["Cache-Control"] = "no-cache"
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        response.headers["Referrer-Policy"] = "no-referrer"
        return response


def mount_web(app: FastAPI) -> None:
    """Add the taxonomy route and serve the page at ``/``. Call after every other router:
    the mount at ``/`` answers whatever they do not."""
    app.include_router(router)
    app.mount("/", _WebFiles(directory=WEB_DIR, html=True), name="web")
