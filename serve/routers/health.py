"""Liveness and readiness (open, for orchestrators) and Prometheus metrics (token or admin)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response
from fastapi.responses import JSONResponse

from ..deps import get_services, require_metrics_access
from ..schemas.common import error_responses
from ..schemas.operations import Health, Readiness
from ..state import Services

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=Health, summary="The process is up")
def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    summary="Database reachable and model loaded",
    responses={
        200: {"model": Readiness},
        503: {"model": Readiness, "description": "Not ready: the checks say which failed."},
    },
)
def readyz(services: Services = Depends(get_services)) -> JSONResponse:
    checks: dict[str, dict[str, object]] = {}
    try:
        services.db.ping()
        checks["database"] = {"ok": True, "backend": services.db.backend}
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready"
        checks["database"] = {"ok": False, "error": exc.__class__.__name__}
    if services.scoring is not None:
        checks["model"] = {"ok": True, **services.scoring.identity}
    else:
        checks["model"] = {"ok": False, "error": services.model_error}
    checks["photo_store"] = {"ok": services.store.root.is_dir()}
    ready = all(c["ok"] for c in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not_ready", "checks": checks},
        status_code=200 if ready else 503,
    )


@router.get(
    "/metrics",
    summary="Prometheus metrics (the metrics token or an admin key)",
    response_class=Response,
    dependencies=[Depends(require_metrics_access)],
    responses={200: {"content": {"text/plain": {}}}, **error_responses(401, 403)},
)
def metrics(services: Services = Depends(get_services)) -> Response:
    return Response(services.metrics.render(), media_type=services.metrics.content_type)
