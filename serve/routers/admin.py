"""Settings in effect (admin): what this server runs with, secrets masked."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from sqlalchemy.engine import make_url

from ..deps import get_services, require_admin
from ..keys import Principal
from ..migrate import current_revision
from ..schemas.common import ERROR_RESPONSES
from ..schemas.operations import SettingsView
from ..state import Services

router = APIRouter(prefix="/v1", tags=["admin"], responses=ERROR_RESPONSES)


@router.get("/settings", response_model=SettingsView, summary="Settings in effect")
def get_settings(
    _principal: Principal = Depends(require_admin), services: Services = Depends(get_services)
) -> SettingsView:
    """Read-only: settings come from the environment / .env and apply on restart."""
    settings = services.settings
    data = settings.model_dump(mode="json")
    data["database_url"] = make_url(settings.resolved_database_url).render_as_string(
        hide_password=True
    )
    data["photo_dir"] = str(settings.resolved_photo_dir)
    return SettingsView(
        settings=data,
        model=services.scoring.identity if services.scoring else None,
        model_error=services.model_error,
        schema_revision=current_revision(services.db.engine),
    )
