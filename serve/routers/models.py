"""Model lifecycle and reference galleries for a running service (admin only).

``GET /v1/models`` lists the registry with cards; ``POST /v1/models/promote``, ``/rollback``
and ``/reload`` swap the served bundle without a restart; ``/v1/gallery…`` adds and removes
reference photos of the current bundle's gallery.

How the swap stays safe: handlers take ``services.scoring`` once per request and use that
object for scoring *and* for the bundle identity they store, so the swap — replacing
``services.scoring`` with a new :class:`ScoringService` around the new scorer — never splits a
request. Requests in flight finish on the old scorer; records name the bundle that scored
them. The registry folder is ``$PLANTSCOUT_REGISTRY`` or ``<data_dir>/models``; its
``CURRENT`` bundle (if any) replaces the start-up model, and a watcher follows
``plantscout model promote`` run from a shell (every ``$PLANTSCOUT_MODEL_WATCH_S`` seconds,
default 2; 0 turns it off).
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Depends, FastAPI, Form, Query, UploadFile

from plantscout.model import IntakeLimits, PlantscoutError, Scorer
from plantscout.model.errors import BundleError, ImageError
from plantscout.model.gallery import Gallery, GalleryError, Negative, Reference, check_label
from plantscout.model.holder import Loaded, ModelHolder
from plantscout.model.registry import REGISTRY_ENV, Registry, RegistryError

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
from ..scoring import ScoringService
from ..state import Services
from ..uploads import accept_uploads

log = logging.getLogger("plantscout.serve.models")
WATCH_ENV = "PLANTSCOUT_MODEL_WATCH_S"
HOLDER_KEY = "models"


def attach(services: Services) -> ModelHolder:
    """Put a :class:`ModelHolder` between the service and its scorer (at start-up)."""
    settings = services.settings
    root = os.environ.get(REGISTRY_ENV) or Path(settings.data_dir) / "models"
    limits = IntakeLimits(max_bytes=settings.max_photo_bytes, max_pixels=settings.max_photo_pixels)

    def make_scorer(bundle: Any) -> Scorer:
        return Scorer(bundle, intra_op_threads=settings.model_threads, limits=limits)

    def on_swap(loaded: Loaded) -> None:
        # One attribute assignment: atomic for the request threads reading it.
        services.scoring = ScoringService(loaded.scorer, settings.score_concurrency)  # type: ignore[arg-type]
        services.model_error = None
        services.metrics.set_model(loaded.identity)

    holder = ModelHolder(Registry(root), make_scorer, on_swap=on_swap)
    services.extras[HOLDER_KEY] = holder
    try:
        if holder.registry.current() is not None:
            holder.sync()  # the registry's promoted bundle wins over the start-up model
    except (PlantscoutError, OSError) as exc:
        log.error(
            "registry bundle not loaded; keeping the start-up model", extra={"reason": str(exc)}
        )
    if holder.peek() is None and services.scoring is not None:
        holder.adopt(services.scoring.scorer)  # still picks up a gallery for this bundle
    interval = float(os.environ.get(WATCH_ENV, "2"))
    if interval > 0:
        holder.watch(interval)
    return holder


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Runs inside the app's own lifespan, after ``app.state.services`` exists."""
    holder = await anyio.to_thread.run_sync(attach, app.state.services)
    try:
        yield
    finally:
        holder.close()


router = APIRouter(
    prefix="/v1",
    tags=["models"],
    responses={**ERROR_RESPONSES, **error_responses(503)},  # 503: no model / no lifecycle
    lifespan=lifespan,
)


def get_holder(services: Services = Depends(get_services)) -> ModelHolder:
    holder = services.extras.get(HOLDER_KEY)
    if not isinstance(holder, ModelHolder):
        raise ServiceUnavailable("model lifecycle is not attached to this service")
    return holder


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
