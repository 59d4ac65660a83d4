"""The field web page (``serve/web/``, served at ``/``) and the one endpoint it adds.

The page is plain HTML, CSS and ES modules with no build step; Leaflet is vendored under
``web/vendor``. ``GET /v1/taxonomy`` gives the page the species names, descriptions and
field marks in Chinese and English straight from ``plantscout.model.taxonomy``, so the page
never keeps a second copy that could drift. It needs no key: it is reference text, and the
page caches it for offline use before anyone has signed in.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response
from starlette.types import Scope

from plantscout.model import TAXONOMY

WEB_DIR = Path(__file__).resolve().parents[1] / "web"

router = APIRouter(tags=["field page"])


@router.get("/v1/taxonomy", summary="Species names and field marks (zh/en) for the field page")
def taxonomy() -> dict[str, Any]:
    return {"labels": [label.as_dict() for label in TAXONOMY.values()]}


class _WebFiles(StaticFiles):
    """Static files that browsers revalidate (cheap 304s), so an update is never half-seen."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers["Cache-Control"] = "no-cache"
        return response


def mount_web(app: FastAPI) -> None:
    """Add the taxonomy route and serve the page at ``/``. Call after every other router:
    the mount at ``/`` answers whatever they do not."""
    app.include_router(router)
    app.mount("/", _WebFiles(directory=WEB_DIR, html=True), name="web")
