"""The application factory: ``create_app(settings)`` builds one independent service.

Everything stateful (database engine, photo store, the runtime, metrics registry) is created in
the lifespan and hung on ``app.state.services``, so tests run several apps side by side and a
shutdown releases all of it. Start-up applies migrations (unless disabled), starts the
:class:`~plantscout.serve.runtime.Runtime` (the model, loaded once; the registry watcher; the
scan-job queue — a missing model leaves the service up but not ready: ``/readyz`` says why and
scoring answers 503), and sweeps orphan photos in a background thread, again every
``sweep_interval_s``. Shutdown stops the runtime first (a running scan job is parked), then
the sweeper and the database.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from zoneinfo import ZoneInfo

import anyio.to_thread
from fastapi import APIRouter, Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from sqlalchemy import select

from plantscout import __version__

from . import openapi
from .db import Database
from .deps import no_repeated_fields
from .errors import install_error_handlers
from .metrics import Metrics
from .middleware import DoorLimits, RequestMiddleware
from .migrate import current_revision, head_revision, upgrade
from .models import InspectionPhoto, TipPhoto
from .photos import PhotoStore, SweepResult
from .routers import ROUTERS
from .runtime import Runtime
from .services.tips.metrics import install as install_tip_metrics
from .settings import Settings
from .state import Services

log = logging.getLogger("plantscout.serve")

DESCRIPTION = """
Inspection records for anti-drug patrols: score photos for suspected opium poppy and
cannabis, file inspections with photos and GPS, review and record eradications, track survey
targets, and export maps and reports.

Authenticate with an API key: `Authorization: Bearer psk_…` (or `X-API-Key`). Roles:
**inspector** (score, file, own unit), **reviewer** (+ review, eradication, all units, reports),
**admin** (+ keys, target imports, settings). Errors are JSON:
`{"error": {"code", "message", "details"}}`.
"""


def referenced_photos(db: Database):
    """For the sweeper: which of these sha256s does some inspection or tip reference?"""

    def check(digests: list[str]) -> set[str]:
        with db.read() as session:
            found = set(
                session.scalars(
                    select(InspectionPhoto.sha256).where(InspectionPhoto.sha256.in_(digests))
                )
            )
            return found | set(
                session.scalars(select(TipPhoto.sha256).where(TipPhoto.sha256.in_(digests)))
            )

    return check


def sweep_orphans(services: Services) -> SweepResult:
    result = services.store.sweep(
        referenced_photos(services.db), grace_s=services.settings.orphan_grace_s
    )
    services.metrics.orphans_swept.inc(result.removed)
    if result.removed:
        log.info("orphan photos swept", extra={"removed": result.removed})
    return result


def open_database(settings: Settings) -> Database:
    """Connect, and migrate to the head (or refuse an outdated schema if told not to)."""
    db = Database.connect(
        settings.resolved_database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
    )
    if settings.migrate_on_start:
        upgrade(db.engine)
    else:
        revision, head = current_revision(db.engine), head_revision()
        if revision != head:
            db.dispose()
            raise RuntimeError(
                f"database schema is at {revision!r}, this plantscout needs {head!r}: "
                "run `plantscout db upgrade`"
            )
    return db


class ModelRequired(RuntimeError):
    """``create_app(require_model=True)`` and no bundle could be loaded: refuse to start."""


def build_services(settings: Settings, metrics: Metrics, *, require_model: bool) -> Services:
    db = open_database(settings)
    runtime = Runtime(settings, metrics)
    runtime.start()
    if require_model and runtime.scoring is None:
        runtime.stop()
        db.dispose()
        raise ModelRequired(
            f"{runtime.model_error} For the service, set PLANTSCOUT_MODEL_PATH (or model_path "
            "in .env), or promote a bundle with `plantscout model promote`."
        )
    return Services(
        settings=settings,
        db=db,
        store=PhotoStore(settings.resolved_photo_dir),
        metrics=metrics,
        camera_zone=ZoneInfo(settings.camera_timezone),
        runtime=runtime,
    )


class _Sweeper:
    """Sweeps at start and every ``interval`` seconds, in a daemon thread."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="photo-sweeper", daemon=True)

    def _run(self) -> None:
        interval = self.services.settings.sweep_interval_s
        while not self.stop.is_set():
            try:
                sweep_orphans(self.services)
            except Exception:  # noqa: BLE001 - a failed sweep must not stop the service
                log.exception("orphan sweep failed")
            if interval <= 0 or self.stop.wait(interval):
                return


def create_app(
    settings: Settings | None = None,
    *,
    extra_routers: Iterable[APIRouter] = (),
    require_model: bool = False,
) -> FastAPI:
    """One service. ``require_model``: refuse to start without a model (``plantscout serve``:
    a server that cannot score is no use in the field); otherwise start, not ready."""
    settings = settings or Settings()
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.worker_threads
        services = await anyio.to_thread.run_sync(
            lambda: build_services(settings, metrics, require_model=require_model)
        )
        app.state.services = services
        sweeper = _Sweeper(services)
        sweeper.thread.start()
        log.info(
            "service started",
            extra={
                "database": services.db.backend,
                "model": services.scoring.identity if services.scoring else None,
            },
        )
        try:
            yield
        finally:
            await anyio.to_thread.run_sync(services.runtime.stop)
            sweeper.stop.set()
            sweeper.thread.join(timeout=10)
            services.db.dispose()
            log.info("service stopped")

    app = FastAPI(
        title="plantscout inspection service",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        dependencies=[Depends(no_repeated_fields)],
    )
    app.state.settings = settings
    app.state.metrics = metrics
    install_tip_metrics(metrics, lambda: getattr(app.state, "services", None))
    install_error_handlers(app)
    openapi.install(app)
    for name in ROUTERS:
        app.include_router(importlib.import_module(f"{__package__}.routers.{name}").router)
    for router in extra_routers:
        app.include_router(router)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PATCH", "DELETE", "OPTIONS"],
            allow_headers=[
                "Authorization",
                "X-API-Key",
                "Content-Type",
                "Idempotency-Key",
                "If-Match",
            ],
            expose_headers=["ETag", "Location", "X-Request-ID"],
            max_age=600,
        )
    app.add_middleware(
        RequestMiddleware,
        metrics=metrics,
        limits=DoorLimits(
            max_body_bytes=settings.max_request_bytes,
            max_inflight_bytes=settings.max_inflight_upload_bytes,
            body_idle_s=settings.request_body_idle_s,
            body_timeout_s=settings.request_body_timeout_s,
        ),
    )
    _mount_web(app)
    return app


def _mount_web(app: FastAPI) -> None:
    """The field web page (``routers/web.py``) at ``/``, when its files are installed.

    Mounted last, so every API route above wins over a file of the same name.
    """
    from .routers import web

    if (web.WEB_DIR / "index.html").is_file():
        web.mount_web(app)
