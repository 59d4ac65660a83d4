"""Fixtures for the service tests: a real app per database backend, keys, photos.

Every app test runs twice, on SQLite and on PostgreSQL (the server ``scripts/postgres.sh``
starts; a fresh database per app, dropped afterwards). Locally without PostgreSQL the
PostgreSQL half is skipped; CI sets PLANTSCOUT_REQUIRE_POSTGRES=1 so it cannot be.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from serve_conftest_helpers import make_settings
from serve_images import photo
from sqlalchemy.engine import make_url

from plantscout.model.lifecycle.registry import Registry
from plantscout.model.testing import build_tiny_bundle
from plantscout.serve.app import create_app
from plantscout.serve.keys import mint_key
from plantscout.serve.settings import Settings
from plantscout.serve.vocab import Role

BACKENDS = ["sqlite", "postgresql"]


def fresh_database(kind: str, tmp_path: Path, postgres_url: str | None) -> Iterator[str]:
    """A URL of an empty database of ``kind``; PostgreSQL ones are dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'plantscout.db'}"
        return
    if not postgres_url:
        pytest.skip('PostgreSQL not started (eval "$(bash scripts/postgres.sh start)")')
    import psycopg

    admin_url = make_url(postgres_url).set(drivername="postgresql")
    dsn = admin_url.render_as_string(hide_password=False)
    name = f"ps_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path, postgres_url: str | None):
    yield from fresh_database(request.param, tmp_path, postgres_url)


@pytest.fixture(scope="module", params=BACKENDS)
def module_db_url(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    postgres_url: str | None,
):
    yield from fresh_database(request.param, tmp_path_factory.mktemp("db"), postgres_url)


@dataclass
class Service:
    """A running app (lifespan entered) with a key per role."""

    client: TestClient
    settings: Settings
    keys: dict[str, str] = field(default_factory=dict)

    @property
    def services(self):
        return self.client.app.state.services

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[who]}"}

    def add_key(self, name: str, role: Role, unit: str | None = None) -> str:
        with self.services.db.write() as session:
            self.keys[name] = mint_key(session, role=role, name=name, unit=unit).key
        return self.keys[name]

    def file(
        self,
        who: str = "inspector",
        photos: list[bytes] | None = None,
        expect: int | None = 201,
        **fields: Any,
    ) -> dict[str, Any]:
        """POST /v1/inspections and return the JSON (asserting the status if given)."""
        photos = photos if photos is not None else [photo("green", seed=uuid.uuid4().int)]
        data = {"site_type": "farmland", **{k: str(v) for k, v in fields.items()}}
        files = [("photos", (f"p{i}.png", p, "image/png")) for i, p in enumerate(photos)]
        response = self.client.post(
            "/v1/inspections", data=data, files=files, headers=self.auth(who)
        )
        if expect is not None:
            assert response.status_code == expect, response.text
        return response.json()


class ServiceFactory:
    """Starts apps on one database and data directory, and stops them all at the end."""

    def __init__(self, db_url: str, data_dir: Path, bundle: Path) -> None:
        self.db_url, self.data_dir, self.bundle = db_url, data_dir, bundle
        self.started: list[TestClient] = []

    def __call__(self, **overrides: Any) -> Service:
        settings = make_settings(self.db_url, self.data_dir, self.bundle, **overrides)
        client = TestClient(create_app(settings))
        client.__enter__()
        self.started.append(client)
        service = Service(client, settings)
        service.add_key("admin", Role.ADMIN)
        service.add_key("reviewer", Role.REVIEWER)
        service.add_key("inspector", Role.INSPECTOR, unit="unit-a")
        service.add_key("inspector_b", Role.INSPECTOR, unit="unit-b")
        return service

    def close(self) -> None:
        for client in reversed(self.started):
            client.__exit__(None, None, None)


@pytest.fixture
def make_service(tmp_path: Path, tiny_bundle: Path, db_url: str):
    """Build a service on this test's fresh database: ``make_service(**settings)``."""
    factory = ServiceFactory(db_url, tmp_path, tiny_bundle)
    yield factory
    factory.close()


@pytest.fixture
def service(make_service) -> Service:
    return make_service()


@pytest.fixture(scope="module")
def make_module_service(
    tmp_path_factory: pytest.TempPathFactory, tiny_bundle: Path, module_db_url: str
):
    """Like ``make_service`` but shared by a module's tests (for tests that change nothing)."""
    factory = ServiceFactory(module_db_url, tmp_path_factory.mktemp("svc"), tiny_bundle)
    yield factory
    factory.close()


@pytest.fixture()
def two_bundles(tmp_path: Path) -> tuple[Path, Path]:
    first = build_tiny_bundle(tmp_path / "bundles" / "a", name="swap-test", version="1.0.0")
    second = build_tiny_bundle(
        tmp_path / "bundles" / "b", name="swap-test", version="2.0.0", input_size=48
    )
    return first, second


@pytest.fixture()
def registry(tmp_path: Path, two_bundles, monkeypatch) -> Registry:
    """The registry the service finds in its data folder (``<data_dir>/models``)."""
    monkeypatch.delenv("PLANTSCOUT_REGISTRY", raising=False)
    monkeypatch.setenv("PLANTSCOUT_MODEL_WATCH_S", "0")  # reloads are explicit in these tests
    registry = Registry(tmp_path / "var" / "models")
    for bundle in two_bundles:
        registry.add(bundle)
    return registry
