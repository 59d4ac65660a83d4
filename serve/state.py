"""What one running app holds: settings, database, photo store, scorer, metrics.

Built in the app's lifespan and kept on ``app.state.services``; handlers reach it through the
``get_services`` dependency, never through globals, so tests can run several apps side by
side (SQLite and PostgreSQL, different bundles) in one process.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import tzinfo

from .db import Database
from .errors import ServiceUnavailable
from .metrics import Metrics
from .photos import PhotoStore
from .scoring import ScoringService
from .settings import Settings


@dataclass
class Services:
    settings: Settings
    db: Database
    store: PhotoStore
    metrics: Metrics
    camera_zone: tzinfo
    scoring: ScoringService | None = None
    model_error: str | None = None
    extras: dict[str, object] = field(default_factory=dict)  # for routers added later

    def require_scoring(self) -> ScoringService:
        if self.scoring is None:
            raise ServiceUnavailable(
                f"no model is loaded, so photos cannot be scored: {self.model_error}"
            )
        return self.scoring
