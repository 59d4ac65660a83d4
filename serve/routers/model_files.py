"""The served model for phones: ``GET /v1/model/card``, ``/v1/model/onnx``, ``/v1/model/decision``.

The field page scores photos on the phone when there is no signal. It reads the card (with
the legend of the decision graph's codes and the sha256 of both files), then fetches the
network and the decision graph by sha256; the service worker keeps them, so a phone downloads
a bundle once and again only when the served bundle changes. Every file carries its sha256 as
``ETag`` (``If-None-Match`` gets a 304); asking for a sha256 that is no longer served is a
409, never another bundle's bytes under the old name.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query
from fastapi.responses import FileResponse
from starlette.responses import Response

from ..deps import get_services, require_inspector
from ..errors import Conflict
from ..keys import Principal
from ..schemas.common import ERROR_RESPONSES
from ..schemas.models import ModelCardView
from ..services.ondevice import OnDevice, on_device
from ..state import Services

router = APIRouter(prefix="/v1/model", tags=["field page"], responses=ERROR_RESPONSES)

Sha256 = Annotated[
    str | None, Query(pattern="^[0-9a-f]{64}$", description="The file's sha256 (from the card).")
]
CACHE = {"Cache-Control": "private, no-cache"}


def served(
    principal: Principal = Depends(require_inspector), services: Services = Depends(get_services)
) -> OnDevice:
    return on_device(services.require_scoring().scorer.bundle)


def _etag(sha256: str) -> str:
    return f'"{sha256}"'


def _check(files: OnDevice, asked: str | None, actual: str, name: str) -> None:
    if asked is not None and asked != actual:
        raise Conflict(
            f"{name} {asked[:12]}… is no longer served (the service now serves "
            f"{files.identity['name']} {files.identity['version']}); read /v1/model/card again"
        )


def _not_modified(if_none_match: str | None, sha256: str) -> bool:
    return if_none_match is not None and _etag(sha256) in [
        t.strip() for t in if_none_match.split(",")
    ]


@router.get("/card", summary="The served bundle's card, decision legend and file hashes")
def card(files: OnDevice = Depends(served)) -> ModelCardView:
    return ModelCardView.model_validate(files.describe())


@router.get(
    "/onnx",
    response_class=FileResponse,
    summary="The served bundle's network (model.onnx)",
    responses={200: {"content": {"application/octet-stream": {}}}, 304: {}, 409: {}},
)
def network(
    sha256: Sha256 = None,
    if_none_match: Annotated[str | None, Header(max_length=200)] = None,
    files: OnDevice = Depends(served),
) -> Response:
    _check(files, sha256, files.network_sha256, "model")
    headers = {**CACHE, "ETag": _etag(files.network_sha256)}
    if _not_modified(if_none_match, files.network_sha256):
        return Response(status_code=304, headers=headers)
    return FileResponse(files.network_path, media_type="application/octet-stream", headers=headers)


@router.get(
    "/decision",
    summary="The served bundle's decision rules as an ONNX graph (generated from the card)",
    responses={200: {"content": {"application/octet-stream": {}}}, 304: {}, 409: {}},
)
def decision(
    sha256: Sha256 = None,
    if_none_match: Annotated[str | None, Header(max_length=200)] = None,
    files: OnDevice = Depends(served),
) -> Response:
    _check(files, sha256, files.decision_sha256, "decision graph")
    headers = {**CACHE, "ETag": _etag(files.decision_sha256)}
    if _not_modified(if_none_match, files.decision_sha256):
        return Response(status_code=304, headers=headers)
    return Response(files.decision, media_type="application/octet-stream", headers=headers)
