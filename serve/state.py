"""What one running app holds: settings, database, photo store, metrics, and the runtime.

Built in the app's lifespan and kept on ``app.state.services``; handlers reach it through the
``get_services`` dependency, never through globals, so tests can run several apps side by side
(SQLite and PostgreSQL, different bundles) in one process. The served model, its swaps and the
scan-job queue belong to :class:`~plantscout.serve.runtime.Runtime`; ``scoring`` reads the
model being served now.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo

from .db import Database
from .errors import ServiceUnavailable
from .metrics import Metrics
from .photos import PhotoStore
from .runtime import Runtime
from .scoring import ScoringService
from .settings import Settings


@dataclass
class Services:
    settings: Settings
    db: Database
    store: PhotoStore
    metrics: Metrics
    camera_zone: tzinfo
    runtime: Runtime

    @property
    def scoring(self) -> ScoringService | None:
        """The model served now (swapped on promote); take it once per request."""
        return self.runtime.scoring

    @property
    def model_error(self) -> str | None:
        return self.runtime.model_error

    def require_scoring(self) -> ScoringService:
        scoring = self.scoring
        if scoring is None:
            raise ServiceUnavailable(
                f"no model is loaded, so photos cannot be scored: {self.model_error}"
            )
        return scoring
