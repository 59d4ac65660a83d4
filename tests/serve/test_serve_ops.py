"""Operations: health, readiness, metrics, docs, migrations, CLI, CORS, logs, shutdown."""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from pathlib import Path

import httpx
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner
from fastapi.testclient import TestClient
from serve_conftest_helpers import make_settings
from serve_images import photo

from plantscout.cli import cli
from plantscout.serve.app import create_app
from plantscout.serve.db import Database
from plantscout.serve.logs import JsonFormatter
from plantscout.serve.migrate import current_revision, downgrade, head_revision, upgrade
from plantscout.serve.models import Base
from plantscout.serve.scoring import ScoringService


def test_health_readiness_and_metrics(service) -> None:
    assert service.client.get("/healthz").json() == {"status": "ok"}
    ready = service.client.get("/readyz")
    assert ready.status_code == 200
    checks = ready.json()["checks"]
    assert checks["database"]["ok"] and checks["model"]["name"] == "tiny-test"
    record = service.file(photos=[photo("green", seed=1), photo("red", seed=2)])
    service.client.get(f"/v1/inspections/{record['id']}", headers=service.auth("inspector"))
    text = service.client.get("/metrics", headers=service.auth("admin")).text
    assert (
        'plantscout_http_requests_total{method="GET",route="/v1/inspections/{inspection_id}",status="200"} 1.0'
        in text
    )
    assert 'plantscout_scores_total{endpoint="inspections",verdict="suspected"} 1.0' in text
    assert 'plantscout_scores_total{endpoint="inspections",verdict="review"} 1.0' in text
    assert 'plantscout_inspections_created_total{verdict="suspected"} 1.0' in text
    sha = record["model"]["sha256"]
    assert f'plantscout_model_info{{name="tiny-test",sha256="{sha}",version="0.0.1"}} 1.0' in text
    assert "plantscout_http_request_duration_seconds_bucket" in text


def test_request_ids_are_echoed(service) -> None:
    response = service.client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"
    assert len(service.client.get("/healthz").headers["x-request-id"]) == 16


def test_openapi_docs_describe_the_api(service) -> None:
    assert service.client.get("/docs").status_code == 200
    spec = service.client.get("/openapi.json").json()
    body = spec["paths"]["/v1/inspections"]["post"]["requestBody"]["content"]
    assert "multipart/form-data" in body
    schemes = spec["components"]["securitySchemes"]
    assert {s["type"] for s in schemes.values()} == {"http", "apiKey"}
    for path in ("/v1/score", "/v1/targets/import", "/v1/reports/coverage", "/v1/keys"):
        assert path in spec["paths"]


def test_without_a_model_the_service_runs_but_is_not_ready(make_service, tmp_path) -> None:
    service = make_service(model_path=tmp_path / "no-such-bundle")
    ready = service.client.get("/readyz")
    assert ready.status_code == 503 and ready.json()["checks"]["model"]["ok"] is False
    files = [("photos", ("a.png", photo("green"), "image/png"))]
    scored = service.client.post("/v1/score", files=files, headers=service.auth("inspector"))
    assert scored.status_code == 503 and scored.json()["error"]["code"] == "unavailable"
    assert (
        service.client.get("/v1/inspections", headers=service.auth("reviewer")).status_code == 200
    )


def test_score_endpoint_returns_one_score_per_photo_and_a_combined_verdict(service) -> None:
    files = [
        ("photos", ("leaf.png", photo("green", seed=3), "image/png")),
        ("photos", ("flower.png", photo("red", seed=4), "image/png")),
    ]
    body = service.client.post("/v1/score", files=files, headers=service.auth("inspector")).json()
    assert [p["score"]["verdict"] for p in body["photos"]] == ["suspected", "review"]
    assert [p["filename"] for p in body["photos"]] == ["leaf.png", "flower.png"]
    assert body["combined"]["verdict"] == "suspected" and body["combined"]["photos"] == 2
    assert body["model"]["name"] == "tiny-test"
    # Nothing stored.
    assert (
        service.client.get("/v1/inspections", headers=service.auth("reviewer")).json()["items"]
        == []
    )
    assert list(service.services.store.iter_files()) == []


def test_migrations_match_the_models_and_run_both_ways(db_url: str) -> None:
    db = Database.connect(db_url)
    try:
        assert upgrade(db.engine) == head_revision()
        with db.engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        assert diff == [], f"models and migrations differ: {diff}"
        assert downgrade(db.engine, "base") is None
        assert upgrade(db.engine) == head_revision()
    finally:
        db.dispose()


def test_outdated_schema_is_refused_when_migrations_are_off(db_url, tmp_path, tiny_bundle) -> None:
    settings = make_settings(db_url, tmp_path, tiny_bundle, migrate_on_start=False)
    with pytest.raises(RuntimeError, match="plantscout db upgrade"):
        with TestClient(create_app(settings)):
            pass


def test_cli_db_keys_and_serve_help(db_url, tmp_path, tiny_bundle) -> None:
    env = {"PLANTSCOUT_DATABASE_URL": db_url, "PLANTSCOUT_DATA_DIR": str(tmp_path / "var")}
    runner = CliRunner()
    upgraded = runner.invoke(cli, ["db", "upgrade"], env=env)
    assert upgraded.exit_code == 0 and head_revision() in upgraded.output
    current = runner.invoke(cli, ["db", "current"], env=env)
    assert f"current: {head_revision()}" in current.output

    refused = runner.invoke(cli, ["keys", "create", "--role", "inspector"], env=env)
    assert refused.exit_code != 0 and "--unit" in refused.output
    created = runner.invoke(
        cli, ["keys", "create", "--role", "inspector", "--unit", "unit-z", "--name", "li"], env=env
    )
    assert created.exit_code == 0, created.output
    key = created.stdout.strip().splitlines()[0]
    assert key.startswith("psk_")

    settings = make_settings(db_url, tmp_path, tiny_bundle)
    with TestClient(create_app(settings)) as client:
        me = client.post(
            "/v1/inspections",
            data={"site_type": "courtyard"},
            files=[("photos", ("a.png", photo("green"), "image/png"))],
            headers={"X-API-Key": key},
        )
        assert me.status_code == 201 and me.json()["unit"] == "unit-z"
        key_id = key.split("_")[1]
        listed = runner.invoke(cli, ["keys", "list"], env=env)
        assert key_id in listed.output and "unit-z" in listed.output and key not in listed.output
        assert runner.invoke(cli, ["keys", "revoke", key_id], env=env).exit_code == 0
        assert client.get("/v1/inspections", headers={"X-API-Key": key}).status_code == 401
    swept = runner.invoke(cli, ["db", "sweep-photos", "--grace", "0"], env=env)
    assert swept.exit_code == 0 and json.loads(swept.output)["removed"] == 0
    help_text = runner.invoke(cli, ["serve", "--help"]).output
    assert "--host" in help_text and "--port" in help_text


def test_settings_come_from_the_environment(monkeypatch, tmp_path) -> None:
    from plantscout.serve.settings import Settings

    monkeypatch.setenv("PLANTSCOUT_CORS_ORIGINS", "https://field.example, https://office.example")
    monkeypatch.setenv("PLANTSCOUT_MAX_PHOTOS", "4")
    monkeypatch.setenv("PLANTSCOUT_DATA_DIR", str(tmp_path / "d"))
    settings = Settings(_env_file=None)
    assert settings.cors_origins == ["https://field.example", "https://office.example"]
    assert settings.max_photos == 4
    assert settings.resolved_database_url == f"sqlite:///{tmp_path / 'd' / 'plantscout.db'}"
    assert settings.resolved_photo_dir == tmp_path / "d" / "photos"
    monkeypatch.setenv("PLANTSCOUT_CAMERA_TIMEZONE", "Mars/Olympus")
    with pytest.raises(ValueError, match="time zone"):
        Settings(_env_file=None)


def test_cors_is_off_by_default_and_configurable(make_service) -> None:
    closed = make_service()
    preflight = {
        "Origin": "https://field.example",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,idempotency-key",
    }
    answer = closed.client.options("/v1/inspections", headers=preflight)
    assert "access-control-allow-origin" not in answer.headers
    opened = make_service(cors_origins=["https://field.example"])
    answer = opened.client.options("/v1/inspections", headers=preflight)
    assert answer.headers["access-control-allow-origin"] == "https://field.example"
    assert "idempotency-key" in answer.headers["access-control-allow-headers"].lower()


def test_settings_endpoint_masks_the_database_password(service) -> None:
    body = service.client.get("/v1/settings", headers=service.auth("admin")).json()
    assert body["schema_revision"] == head_revision()
    assert body["model"]["name"] == "tiny-test"
    assert body["settings"]["max_photos"] == 10


def test_structured_log_lines_are_json() -> None:
    record = logging.LogRecord(
        "plantscout.serve.access", logging.INFO, "", 0, "request", None, None
    )
    record.route = "/v1/inspections"
    record.status = 201
    line = json.loads(JsonFormatter().format(record))
    assert line["msg"] == "request" and line["route"] == "/v1/inspections" and line["status"] == 201
    assert line["level"] == "info" and line["ts"].endswith("+00:00")


def test_the_orphan_sweep_runs_at_start(db_url, tmp_path, tiny_bundle) -> None:
    settings = make_settings(db_url, tmp_path, tiny_bundle, orphan_grace_s=60)
    from plantscout.serve.photos import PhotoStore

    store = PhotoStore(settings.resolved_photo_dir)
    old = store.put(photo("green", seed=9))
    young = store.put(photo("green", seed=10))
    past = time.time() - 3600
    os.utime(store.path_for(old), (past, past))
    with TestClient(create_app(settings)):
        deadline = time.monotonic() + 30
        while store.exists(old) and time.monotonic() < deadline:
            time.sleep(0.05)
    assert not store.exists(old) and store.exists(young)


@pytest.mark.slow
def test_graceful_shutdown_finishes_requests_in_flight(db_url, tmp_path, tiny_bundle, monkeypatch):
    """Stop the server while an upload is being scored: the upload still completes."""
    from test_serve_concurrency import LiveServer

    from plantscout.serve.keys import mint_key
    from plantscout.serve.vocab import Role

    entered, release = threading.Event(), threading.Event()
    original = ScoringService.score

    def slow_score(self, uploads, **kwargs):
        entered.set()
        release.wait(timeout=60)
        return original(self, uploads, **kwargs)

    monkeypatch.setattr(ScoringService, "score", slow_score)
    app = create_app(make_settings(db_url, tmp_path, tiny_bundle))
    result: dict[str, httpx.Response] = {}
    with LiveServer(app) as live:
        with app.state.services.db.write() as session:
            key = mint_key(session, role=Role.INSPECTOR, name="x", unit="u").key

        def upload() -> None:
            result["response"] = httpx.post(
                f"{live.url}/v1/inspections",
                data={"site_type": "farmland"},
                files=[("photos", ("a.png", photo("green", seed=12), "image/png"))],
                headers={"X-API-Key": key},
                timeout=60,
            )

        sender = threading.Thread(target=upload)
        sender.start()
        assert entered.wait(timeout=60)
        live.server.should_exit = True  # what SIGTERM does
        release.set()
        sender.join(timeout=60)
    assert result["response"].status_code == 201
    db = Database.connect(db_url)
    try:
        assert current_revision(db.engine) == head_revision()
        with db.read() as session:
            from sqlalchemy import func, select

            from plantscout.serve.models import Inspection

            assert session.scalar(select(func.count()).select_from(Inspection)) == 1
    finally:
        db.dispose()


def test_data_dir_default_layout(tmp_path: Path, tiny_bundle, monkeypatch) -> None:
    """Defaults: one data directory holds the SQLite file and the photo store."""
    from plantscout.serve.settings import Settings

    monkeypatch.chdir(tmp_path)
    settings = Settings(_env_file=None, model_path=tiny_bundle, sweep_interval_s=0)
    with TestClient(create_app(settings)) as client:
        assert client.get("/readyz").status_code == 200
    assert (tmp_path / "var" / "plantscout.db").is_file()
    assert (tmp_path / "var" / "photos").is_dir()


def test_metrics_need_the_metrics_token_or_an_admin_key(make_service) -> None:
    token = "scrape-" + "s3cret" * 4
    service = make_service(metrics_token=token)
    assert service.client.get("/metrics").status_code == 401
    assert service.client.get("/metrics", headers=service.auth("inspector")).status_code == 403
    assert service.client.get("/metrics", headers=service.auth("reviewer")).status_code == 403
    assert service.client.get("/metrics", headers=service.auth("admin")).status_code == 200
    scraped = service.client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert scraped.status_code == 200 and "plantscout_http_requests_total" in scraped.text
    wrong = service.client.get("/metrics", headers={"Authorization": f"Bearer {token}x"})
    assert wrong.status_code == 401
    # Orchestrators' probes stay open.
    assert service.client.get("/healthz").status_code == 200
    assert service.client.get("/readyz").status_code == 200


def test_every_response_forbids_content_type_sniffing(service) -> None:
    """A photo download is served with the type the decoder found; a browser must not sniff
    it into HTML. Every answer carries the header, errors and refusals included."""
    record = service.file(photos=[photo("green", seed=3)])
    answers = [
        service.client.get(f"{record['photos'][0]['url']}", headers=service.auth("inspector")),
        service.client.get("/v1/inspections", headers=service.auth("inspector")),
        service.client.get("/v1/inspections/nope", headers=service.auth("inspector")),
        service.client.get("/v1/inspections"),  # 401
        service.client.get("/v1/exports/inspections.csv", headers=service.auth("inspector")),
        service.client.get("/v1/inspections?unit=%00", headers=service.auth("inspector")),
        service.client.get("/healthz"),
        service.client.get("/"),
    ]
    assert [a.headers.get("x-content-type-options") for a in answers] == ["nosniff"] * 8
    assert answers[0].status_code == 200 and answers[0].headers["content-type"] == "image/png"
