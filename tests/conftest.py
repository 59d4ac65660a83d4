"""Fixtures shared by every part's tests.

Real photos and drone fixtures come from ``../shared``; a missing ``../shared`` is an error,
never a skip, so CI cannot pass by silently testing nothing.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("PLANTSCOUT_SHARED", REPO.parent / "shared")).resolve()
PLANTS_V1 = SHARED / "datasets" / "plants-v1"
DRONE_FIXTURES = SHARED / "fixtures" / "drone"


def _require(path: Path) -> Path:
    if not path.exists():
        pytest.fail(
            f"{path} is missing: tests read real photos from ../shared beside the checkout "
            "(set PLANTSCOUT_SHARED to point elsewhere)",
            pytrace=False,
        )
    return path


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    return _require(SHARED)


@pytest.fixture(scope="session")
def plants_v1() -> Path:
    """The plants-v1 dataset folder (manifest.csv + images/)."""
    return _require(PLANTS_V1 / "manifest.csv").parent


@pytest.fixture(scope="session")
def plants_manifest_rows(plants_v1: Path) -> list[dict[str, str]]:
    with open(plants_v1 / "manifest.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="session")
def drone_fixtures() -> Path:
    return _require(DRONE_FIXTURES / "README.md").parent


@pytest.fixture(scope="session")
def real_photo(plants_v1: Path, plants_manifest_rows: list[dict[str, str]]):
    """Path of a real photo of a given label: ``real_photo("cannabis", index=0)``."""

    def pick(label: str, index: int = 0, kind: str = "photo") -> Path:
        rows = [r for r in plants_manifest_rows if r["label"] == label and r["kind"] == kind]
        return plants_v1 / rows[index % len(rows)]["path"]

    return pick


@pytest.fixture(scope="session")
def tiny_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A valid bundle whose network is a colour rule (see plantscout.model.testing)."""
    from plantscout.model.testing import build_tiny_bundle

    return build_tiny_bundle(tmp_path_factory.mktemp("bundles") / "tiny")


@pytest.fixture(scope="session")
def postgres_url() -> str | None:
    """URL of the PostgreSQL server started by scripts/postgres.sh, or None locally.

    In CI (PLANTSCOUT_REQUIRE_POSTGRES=1) a missing server fails the run instead of skipping.
    """
    url = os.environ.get("PLANTSCOUT_TEST_POSTGRES_URL")
    if not url and os.environ.get("PLANTSCOUT_REQUIRE_POSTGRES") == "1":
        pytest.fail("PLANTSCOUT_TEST_POSTGRES_URL is not set but PostgreSQL is required")
    return url
