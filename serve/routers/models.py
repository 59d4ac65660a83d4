"""Model lifecycle and reference galleries for a running service (admin only).

``GET /v1/models`` lists the registry with cards; ``POST /v1/models/promote``, ``/rollback``
and ``/reload`` swap the served bundle without a restart; ``/v1/gallery…`` adds and removes
reference photos of the current bundle's gallery.

The holder, the registry and its watcher belong to :class:`plantscout.serve.runtime.Runtime`
(started and stopped with the app); this router only wires HTTP to them. How the swap stays
safe: handlers take ``services.scoring`` once per request and use that object for scoring
*and* for the bundle identity they store, so a swap never splits a request. Requests in
flight finish on the old scorer; records name the bundle that scored them.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, UploadFile
from pydantic import Field

from plantscout.model import PlantscoutError, Scorer
from plantscout.model.errors import BundleError, ImageError
from plantscout.model.gallery.gallery import Gallery, GalleryError, Negative, Reference, check_label
from plantscout.model.lifecycle.holder import Loaded, ModelHolder
from plantscout.model.lifecycle.registry import RegistryError

from ..deps import get_services, require_admin
from ..errors import APIError, Conflict, NotFound, ServiceUnavailable, Unprocessable, photo_error
from ..keys import Principal
from ..schemas.common import ERROR_RESPONSES, Strict
from ..scoring import read_uploads
from ..state import Services

router = APIRouter(prefix="/v1", tags=["models"], responses=ERROR_RESPONSES)


def get_holder(services: Services = Depends(get_services)) -> ModelHolder:
    return services.runtime.holder


def _api_error(exc: PlantscoutError) -> APIError:
    if isinstance(exc, RegistryError):
        text = exc.message
        if text.startswith("no bundle"):
            return NotFound(text)
        return Conflict(text)
    if isinstance(exc, BundleError | GalleryError):
        return Unprocessable(exc.message)
    return Unprocessable(exc.message)


def _current(holder: ModelHolder) -> Loaded:
    try:
        return holder.current()
    except LookupError:
        raise ServiceUnavailable("no model is loaded") from None


# -- models ------------------------------------------------------------------------------------


class ChangeRequest(Strict):
    version: str = Field(
        min_length=1, description="Registry folder name, version, or sha256 prefix."
    )
    note: str = Field("", max_length=500)


class RollbackRequest(Strict):
    note: str = Field("", max_length=500)


@router.get("/models", summary="Registered bundles, with cards; the one being served")
def list_models(
    _principal: Principal = Depends(require_admin), holder: ModelHolder = Depends(get_holder)
) -> dict[str, Any]:
    registry = holder.registry
    current_key = registry.current_key()
    return {
        "serving": _current(holder).describe(),
        "registry": str(registry.root),
        "bundles": [
            {**entry.card_summary(), "current": entry.key == current_key}
            for entry in registry.entries()
        ],
        "damaged": registry.damaged(),
        "history": registry.history()[-20:],
    }


@router.post("/models/promote", summary="Serve another registered bundle (no restart)")
def promote(
    body: ChangeRequest,
    principal: Principal = Depends(require_admin),
    holder: ModelHolder = Depends(get_holder),
) -> dict[str, Any]:
    try:
        loaded = holder.promote(body.version, actor=principal.name, note=body.note)
    except PlantscoutError as exc:
        raise _api_error(exc) from exc
    return loaded.describe()


@router.post("/models/rollback", summary="Return to the previously promoted bundle")
def rollback(
    body: RollbackRequest,
    principal: Principal = Depends(require_admin),
    holder: ModelHolder = Depends(get_holder),
) -> dict[str, Any]:
    try:
        loaded = holder.rollback(actor=principal.name, note=body.note)
    except PlantscoutError as exc:
        raise _api_error(exc) from exc
    return loaded.describe()


@router.post("/models/reload", summary="Load the registry's current bundle and gallery now")
def reload(
    _principal: Principal = Depends(require_admin), holder: ModelHolder = Depends(get_holder)
) -> dict[str, Any]:
    try:
        changed = holder.sync()
    except PlantscoutError as exc:
        raise _api_error(exc) from exc
    return {"changed": changed, **_current(holder).describe()}


# -- gallery -----------------------------------------------------------------------------------


def _gallery_view(loaded: Loaded, with_references: bool = True) -> dict[str, Any]:
    gallery = loaded.scorer.gallery
    if gallery is None:
        return {"model": loaded.identity, "gallery": None}
    data: dict[str, Any] = {
        "model": loaded.identity,
        "gallery": gallery.identity(),
        "negatives": len(gallery.negatives),
        "rules": {k: v.as_dict() for k, v in gallery.rules.items()},
    }
    if with_references:
        data["references"] = [
            {
                "label": r.label,
                "sha256": r.sha256,
                "source": r.source,
                "licence": r.licence,
                "group": r.group,
                "added": r.added,
            }
            for r in gallery.references
        ]
    return data


def _embed(scorer: Scorer, photos: list[UploadFile], max_bytes: int):
    uploads = read_uploads(photos, max_bytes)
    decoded = []
    for index, upload in enumerate(uploads):
        try:
            decoded.append(scorer.read(upload.data))
        except ImageError as exc:
            raise photo_error(exc, index, upload.filename) from exc
    scores = scorer.score_images(decoded)
    import numpy as np

    return [d.sha256 for d in decoded], np.stack([s.embedding for s in scores])


@router.get("/gallery", summary="The current bundle's reference gallery")
def get_gallery(
    _principal: Principal = Depends(require_admin), holder: ModelHolder = Depends(get_holder)
) -> dict[str, Any]:
    return _gallery_view(_current(holder))


@router.post("/gallery/references", status_code=201, summary="Add reference photos of a label")
def add_references(
    label: Annotated[str, Form(description="Taxonomy key, e.g. opium_poppy.")],
    photos: Annotated[list[UploadFile], File(description="Reference photos.")],
    source: Annotated[str, Form(max_length=300)] = "",
    licence: Annotated[str, Form(max_length=300)] = "",
    group: Annotated[
        str, Form(max_length=200, description="Same plant / field / case (default: this upload).")
    ] = "",
    principal: Principal = Depends(require_admin),
    services: Services = Depends(get_services),
    holder: ModelHolder = Depends(get_holder),
) -> dict[str, Any]:
    """Photos of one plant or case belong in one upload (or share ``group``): calibration
    holds a group out as a whole, so twins never vouch for each other."""
    try:
        check_label(label)
    except GalleryError as exc:
        raise Unprocessable(
            exc.message, details=[{"field": "label", "message": exc.message}]
        ) from exc
    max_bytes = services.settings.max_photo_bytes

    def change(gallery: Gallery, scorer: Scorer) -> int:
        shas, embeddings = _embed(scorer, photos, max_bytes)
        upload_group = group or f"upload-{shas[0][:12]}"
        refs = [
            Reference(
                label,
                sha,
                source=source or f"api:{principal.name}",
                licence=licence,
                group=upload_group,
            )
            for sha in shas
        ]
        return gallery.add(refs, embeddings)

    try:
        loaded, added = holder.update_gallery(change)
    except PlantscoutError as exc:
        raise _api_error(exc) from exc
    return {"added": added, **_gallery_view(loaded, with_references=False)}


@router.post(
    "/gallery/negatives", status_code=201, summary="Add photos known not to be a gallery label"
)
def add_negatives(
    photos: Annotated[list[UploadFile], File(description="Look-alikes and other plants.")],
    label: Annotated[str, Form(description="What they show, if known.")] = "",
    source: Annotated[str, Form(max_length=300)] = "",
    principal: Principal = Depends(require_admin),
    services: Services = Depends(get_services),
    holder: ModelHolder = Depends(get_holder),
) -> dict[str, Any]:
    max_bytes = services.settings.max_photo_bytes

    def change(gallery: Gallery, scorer: Scorer) -> int:
        shas, embeddings = _embed(scorer, photos, max_bytes)
        items = [
            Negative(sha, label=label, source=source or f"api:{principal.name}") for sha in shas
        ]
        return gallery.add_negatives(items, embeddings)

    try:
        loaded, added = holder.update_gallery(change)
    except PlantscoutError as exc:
        raise _api_error(exc) from exc
    return {"added": added, **_gallery_view(loaded, with_references=False)}


@router.delete("/gallery/references", summary="Remove references by label and/or sha256")
def remove_references(
    label: Annotated[str | None, Query()] = None,
    sha256: Annotated[str | None, Query(min_length=6)] = None,
    _principal: Principal = Depends(require_admin),
    holder: ModelHolder = Depends(get_holder),
) -> dict[str, Any]:
    if label is None and sha256 is None:
        raise Unprocessable("give label and/or sha256 of the references to remove")
    try:
        loaded, removed = holder.update_gallery(lambda g, _s: g.remove(label=label, sha256=sha256))
    except PlantscoutError as exc:
        raise _api_error(exc) from exc
    return {"removed": removed, **_gallery_view(loaded, with_references=False)}
