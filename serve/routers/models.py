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

from fastapi import APIRouter, Depends, Form, Query, UploadFile

from plantscout.model import PlantscoutError, Scorer
from plantscout.model.errors import BundleError, ImageError
from plantscout.model.gallery.gallery import Gallery, GalleryError, Negative, Reference, check_label
from plantscout.model.lifecycle.holder import Loaded, ModelHolder
from plantscout.model.lifecycle.registry import RegistryError

from ..deps import get_services, require_admin
from ..errors import APIError, Conflict, NotFound, ServiceUnavailable, Unprocessable, photo_error
from ..keys import Principal
from ..schemas.common import ERROR_RESPONSES, error_responses
from ..schemas.models import (
    ChangeRequest,
    GalleryAdded,
    GalleryReference,
    GalleryRemoved,
    GalleryView,
    HistoryEvent,
    ModelList,
    NegativesForm,
    ReferencesForm,
    RegisteredBundle,
    ReloadResult,
    RollbackRequest,
    Serving,
)
from ..state import Services
from ..uploads import accept_uploads

router = APIRouter(
    prefix="/v1",
    tags=["models"],
    responses={**ERROR_RESPONSES, **error_responses(503)},  # 503: no model / no lifecycle
)


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


@router.get(
    "/models",
    response_model=ModelList,
    summary="Registered bundles, with cards; the one being served",
)
def list_models(
    _principal: Principal = Depends(require_admin), holder: ModelHolder = Depends(get_holder)
) -> ModelList:
    registry = holder.registry
    current_key = registry.current_key()
    return ModelList(
        serving=Serving(**_current(holder).describe()),
        registry=str(registry.root),
        bundles=[
            RegisteredBundle(**entry.card_summary(), current=entry.key == current_key)
            for entry in registry.entries()
        ],
        damaged=registry.damaged(),
        history=[HistoryEvent(**event) for event in registry.history()[-20:]],
    )


@router.post(
    "/models/promote",
    summary="Serve another registered bundle (no restart)",
    response_model=Serving,
    responses=error_responses(404, 409),
)
def promote(
    body: ChangeRequest,
    principal: Principal = Depends(require_admin),
    holder: ModelHolder = Depends(get_holder),
) -> Serving:
    try:
        loaded = holder.promote(body.version, actor=principal.name, note=body.note)
    except PlantscoutError as exc:
        raise _api_error(exc) from exc
    return Serving(**loaded.describe())


@router.post(
    "/models/rollback",
    summary="Return to the previously promoted bundle",
    response_model=Serving,
    responses=error_responses(404, 409),
)
def rollback(
    body: RollbackRequest,
    principal: Principal = Depends(require_admin),
    holder: ModelHolder = Depends(get_holder),
) -> Serving:
    try:
        loaded = holder.rollback(actor=principal.name, note=body.note)
    except PlantscoutError as exc:
        raise _api_error(exc) from exc
    return Serving(**loaded.describe())


@router.post(
    "/models/reload",
    summary="Load the registry's current bundle and gallery now",
    response_model=ReloadResult,
    responses=error_responses(404, 409),
)
def reload(
    _principal: Principal = Depends(require_admin), holder: ModelHolder = Depends(get_holder)
) -> ReloadResult:
    try:
        changed = holder.sync()
    except PlantscoutError as exc:
        raise _api_error(exc) from exc
    return ReloadResult(changed=changed, **_current(holder).describe())


# -- gallery -----------------------------------------------------------------------------------


def _gallery_view(loaded: Loaded, with_references: bool = True) -> dict[str, Any]:
    """The fields of a :class:`GalleryView` (callers add ``added`` / ``removed``)."""
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
            GalleryReference(
                label=r.label,
                sha256=r.sha256,
                source=r.source,
                licence=r.licence,
                group=r.group,
                added=r.added,
            )
            for r in gallery.references
        ]
    return data


def _embed(scorer: Scorer, photos: list[UploadFile], max_bytes: int):
    """Embeddings of the photos, read one at a time (never all of them in memory at once)."""
    import numpy as np

    uploads = accept_uploads(photos, max_bytes)
    embeddings = []
    for index, upload in enumerate(uploads):
        try:
            decoded = scorer.read(upload.read())
        except ImageError as exc:
            raise photo_error(exc, index, upload.filename) from exc
        embeddings.append(scorer.score_images([decoded])[0].embedding)
    return [u.sha256 for u in uploads], np.stack(embeddings)


@router.get(
    "/gallery", response_model=GalleryView, summary="The current bundle's reference gallery"
)
def get_gallery(
    _principal: Principal = Depends(require_admin), holder: ModelHolder = Depends(get_holder)
) -> GalleryView:
    return GalleryView(**_gallery_view(_current(holder)))


@router.post(
    "/gallery/references",
    status_code=201,
    response_model=GalleryAdded,
    summary="Add reference photos of a label",
)
def add_references(
    form: Annotated[ReferencesForm, Form(media_type="multipart/form-data")],
    principal: Principal = Depends(require_admin),
    services: Services = Depends(get_services),
    holder: ModelHolder = Depends(get_holder),
) -> GalleryAdded:
    """Photos of one plant or case belong in one upload (or share ``group``): calibration
    holds a group out as a whole, so twins never vouch for each other."""
    label, source, group = form.label, form.source, form.group
    try:
        check_label(label)
    except GalleryError as exc:
        raise Unprocessable(
            exc.message, details=[{"field": "label", "message": exc.message}]
        ) from exc
    max_bytes = services.settings.max_photo_bytes

    def change(gallery: Gallery, scorer: Scorer) -> int:
        shas, embeddings = _embed(scorer, form.photos, max_bytes)
        upload_group = group or f"upload-{shas[0][:12]}"
        refs = [
            Reference(
                label,
                sha,
                source=source or f"api:{principal.name}",
                licence=form.licence,
                group=upload_group,
            )
            for sha in shas
        ]
        return gallery.add(refs, embeddings)

    try:
        loaded, added = holder.update_gallery(change)
    except PlantscoutError as exc:
        raise _api_error(exc) from exc
    return GalleryAdded(added=added, **_gallery_view(loaded, with_references=False))


@router.post(
    "/gallery/negatives",
    status_code=201,
    response_model=GalleryAdded,
    summary="Add photos known not to be a gallery label",
)
def add_negatives(
    form: Annotated[NegativesForm, Form(media_type="multipart/form-data")],
    principal: Principal = Depends(require_admin),
    services: Services = Depends(get_services),
    holder: ModelHolder = Depends(get_holder),
) -> GalleryAdded:
    max_bytes = services.settings.max_photo_bytes
    source = form.source or f"api:{principal.name}"

    def change(gallery: Gallery, scorer: Scorer) -> int:
        shas, embeddings = _embed(scorer, form.photos, max_bytes)
        items = [Negative(sha, label=form.label, source=source) for sha in shas]
        return gallery.add_negatives(items, embeddings)

    try:
        loaded, added = holder.update_gallery(change)
    except PlantscoutError as exc:
        raise _api_error(exc) from exc
    return GalleryAdded(added=added, **_gallery_view(loaded, with_references=False))


@router.delete(
    "/gallery/references",
    response_model=GalleryRemoved,
    summary="Remove references by label and/or sha256",
)
def remove_references(
    label: Annotated[str | None, Query(max_length=64)] = None,
    sha256: Annotated[str | None, Query(min_length=6, max_length=64)] = None,
    _principal: Principal = Depends(require_admin),
    holder: ModelHolder = Depends(get_holder),
) -> GalleryRemoved:
    if label is None and sha256 is None:
        raise Unprocessable("give label and/or sha256 of the references to remove")
    try:
        loaded, removed = holder.update_gallery(lambda g, _s: g.remove(label=label, sha256=sha256))
    except PlantscoutError as exc:
        raise _api_error(exc) from exc
    return GalleryRemoved(removed=removed, **_gallery_view(loaded, with_references=False))
