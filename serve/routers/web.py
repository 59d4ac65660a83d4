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

from fastapi import APIRouter, Depends, FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response
from starlette.routing import Match, Mount
from starlette.types import Scope

from plantscout.model import TAXONOMY

from ..deps import require_inspector
from ..keys import Principal
from ..page_files import CONTENT_SECURITY_POLICY, WEB_DIR
from ..schemas.common import ERROR_RESPONSES
from ..schemas.operations import Me, Taxonomy

# Browsers refuse ES modules served as text/plain, which some Windows registries map .js to.
mimetypes.add_type("text/javascript", ".js")
mimetypes.add_type("application/manifest+json", ".webmanifest")

router = APIRouter(tags=["field page"])


@router.get(
    "/v1/taxonomy",
    response_model=Taxonomy,
    summary="Species names and field marks (zh/en) for the field page",
)
def taxonomy() -> Taxonomy:
    return Taxonomy(labels=[label.as_dict() for label in TAXONOMY.values()])


@router.get("/v1/me", response_model=Me, responses=ERROR_RESPONSES, summary="Who this API key is")
def me(principal: Principal = Depends(require_inspector)) -> Me:
    return Me(
        key_id=principal.key_id, name=principal.name, role=principal.role, unit=principal.unit
    )


class _WebFiles(StaticFiles):
    """Static files that browsers revalidate (cheap 304s), so an update is never half-seen."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers["Cache-Control"] = "no-cache"
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        response.headers["Referrer-Policy"] = "no-referrer"
        return response


# Paths the API owns. The page's mount at ``/`` matches every path; left to it, a wrong
# method on an API route got the static files' "405, Allow: GET, HEAD" (and a GET on a POST
# route a 404) instead of the route's own 405 listing the methods it takes.
API_PATHS = ("/v1/", "/healthz", "/readyz", "/metrics", "/docs", "/redoc", "/openapi.json")


class _PageMount(Mount):
    """The page's files at ``/``, for every path the API does not own."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http" and scope["path"].startswith(API_PATHS):
            return Match.NONE, {}
        return super().matches(scope)


def mount_web(app: FastAPI) -> None:
    """Add the taxonomy route and serve the page at ``/``. Call after every other router:
    the mount at ``/`` answers whatever they do not."""
    app.include_router(router)
    app.router.routes.append(
        _PageMount("/", app=_WebFiles(directory=WEB_DIR, html=True), name="web")
    )
