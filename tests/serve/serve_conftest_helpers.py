"""Helpers shared by the service tests' fixtures and tests (a conftest is not importable)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from plantscout.serve.settings import Settings


def make_settings(db_url: str, tmp_path: Path, bundle: Path, **overrides: Any) -> Settings:
    """Settings for a test app: its own database and data directory, no ``.env``."""
    values: dict[str, Any] = {
        "data_dir": tmp_path / "var",
        "database_url": db_url,
        "model_path": bundle,
        "model_threads": 1,
        "worker_threads": 16,
        "sweep_interval_s": 0,
        **overrides,
    }
    return Settings(_env_file=None, **values)
