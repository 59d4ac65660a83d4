"""``plantscout serve | db | keys | targets``: the service's commands (click).

Settings come from the environment / ``.env`` exactly as for the server, so ``keys create``
and ``targets import`` act on the same database the server uses. Heavy imports (FastAPI,
uvicorn, onnxruntime) happen inside the commands.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click


def _settings(**overrides: object):
    from pydantic import ValidationError

    from .settings import Settings

    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        raise click.ClickException(f"bad settings: {exc}") from exc


def _database(settings):
    from .app import open_database

    try:
        return open_database(settings)
    except Exception as exc:  # noqa: BLE001 - say what failed, not a traceback
        raise click.ClickException(f"cannot open the database: {exc}") from exc


@click.command(name="serve")
@click.option("--host", default=None, help="Interface to listen on (default 127.0.0.1).")
@click.option("--port", type=click.IntRange(1, 65535), default=None, help="Port (default 8000).")
@click.option(
    "--data-dir", type=click.Path(path_type=Path), default=None, help="Data directory (./var)."
)
def serve_app(host: str | None, port: int | None, data_dir: Path | None) -> None:
    """Run the inspection service (HTTP API, OpenAPI docs at /docs)."""
    import uvicorn

    from .app import create_app
    from .logs import configure_logging

    settings = _settings(host=host, port=port, data_dir=data_dir)
    configure_logging(settings.log_level, settings.log_json)
    uvicorn.run(
        # The model is loaded once, at start; without one the server refuses to start (a
        # server that cannot score is no use in the field) and uvicorn exits with status 3.
        create_app(settings, require_model=True),
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=settings.graceful_shutdown_s,
        proxy_headers=True,
    )


@click.group(name="db")
def db_app() -> None:
    """Database schema and photo store maintenance."""


@db_app.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply migrations (the server also does this at start)."""
    from .db import Database
    from .migrate import upgrade

    settings = _settings()
    db = Database.connect(settings.resolved_database_url)
    try:
        reached = upgrade(db.engine, revision)
    finally:
        db.dispose()
    click.echo(f"database at revision {reached}")


@db_app.command("current")
def db_current() -> None:
    """Print the schema revision of the database and the one this plantscout needs."""
    from .db import Database
    from .migrate import current_revision, head_revision

    settings = _settings()
    db = Database.connect(settings.resolved_database_url)
    try:
        click.echo(f"current: {current_revision(db.engine)}  head: {head_revision()}")
    finally:
        db.dispose()


@db_app.command("sweep-photos")
@click.option(
    "--grace", type=float, default=None, help="Seconds an orphan must age (default: setting)."
)
def db_sweep(grace: float | None) -> None:
    """Delete photo files that no inspection references (left by interrupted uploads).

    Prefer the server's own sweep; run this one while the server is stopped.
    """
    from .app import referenced_photos
    from .photos import PhotoStore

    settings = _settings()
    db = _database(settings)
    try:
        store = PhotoStore(settings.resolved_photo_dir)
        result = store.sweep(
            referenced_photos(db), grace_s=settings.orphan_grace_s if grace is None else grace
        )
    finally:
        db.dispose()
    click.echo(json.dumps(result.__dict__))


@click.group(name="keys")
def keys_app() -> None:
    """Create, list and revoke API keys."""


@keys_app.command("create")
@click.option(
    "--role", type=click.Choice(["inspector", "reviewer", "admin"]), required=True, help="Role."
)
@click.option("--unit", default=None, help="Unit (required for inspectors).")
@click.option("--name", default=None, help="Who holds the key (default: role@unit).")
@click.option(
    "--url",
    "setup_url",
    default=None,
    help="The field page's address as phones reach it (https://office:8000/): also print a "
    "setup link that carries the key.",
)
@click.option(
    "--qr",
    "qr_out",
    default=None,
    help="With --url: write the setup QR code to this file (.png, .svg, .pdf) or '-' to "
    "draw it here.",
)
def keys_create(
    role: str, unit: str | None, name: str | None, setup_url: str | None, qr_out: str | None
) -> None:
    """Create a key and print it once. Store it safely: only its hash is kept.

    With --url (and --qr), a phone is set up by scanning the code instead of typing the key.
    """
    from .keys import mint_key
    from .services import audit, setup_qr
    from .vocab import Role

    if role == "inspector" and not unit:
        raise click.UsageError("an inspector key needs --unit")
    if qr_out and not setup_url:
        raise click.UsageError("--qr needs --url (the address phones open)")
    if setup_url:
        try:
            setup_qr.setup_link(setup_url, "psk_check")
        except ValueError as exc:
            raise click.UsageError(str(exc)) from None
    settings = _settings()
    db = _database(settings)
    try:
        with db.write() as session:
            minted = mint_key(
                session, role=Role(role), name=name or f"{role}@{unit or 'all'}", unit=unit
            )
            audit.record(
                session,
                entity="api_key",
                entity_id=minted.record.id,
                action="created",
                changes={"role": role, "unit": unit, "via": "cli"},
                actor=None,
            )
    finally:
        db.dispose()
    click.echo(minted.key)
    if setup_url:
        link = setup_qr.setup_link(setup_url, minted.key)
        click.echo(link)
        if qr_out == "-":
            click.echo(setup_qr.qr_terminal(link))
        elif qr_out:
            setup_qr.save_qr(link, qr_out)
            click.echo(f"QR code written to {qr_out}", err=True)
    click.echo(f"key id {minted.record.id}: role {role}, unit {unit or '-'}", err=True)


@keys_app.command("list")
def keys_list() -> None:
    """List keys (ids, roles, units; never secrets)."""
    from sqlalchemy import select

    from .models import ApiKey

    settings = _settings()
    db = _database(settings)
    try:
        with db.read() as session:
            for key in session.scalars(select(ApiKey).order_by(ApiKey.created_at)):
                state = "revoked" if key.revoked_at else "active"
                click.echo(f"{key.id}\t{key.role}\t{key.unit or '-'}\t{state}\t{key.name}")
    finally:
        db.dispose()


@keys_app.command("revoke")
@click.argument("key_id")
def keys_revoke(key_id: str) -> None:
    """Revoke a key by id; requests with it get 401 from now on."""
    from .keys import revoke_key

    settings = _settings()
    db = _database(settings)
    try:
        with db.write() as session:
            if revoke_key(session, key_id) is None:
                raise click.ClickException(f"no key {key_id!r}")
    finally:
        db.dispose()
    click.echo(f"revoked {key_id}")


@click.group(name="targets")
def targets_app() -> None:
    """Import and list survey targets."""


@targets_app.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--issuer", required=True, help="Who issued the targets (e.g. survey-2025-sat).")
@click.option("--format", "fmt", type=click.Choice(["geojson", "csv"]), default=None)
def targets_import(file: Path, issuer: str, fmt: str | None) -> None:
    """Import FILE (GeoJSON or CSV). Re-importing the same file changes nothing."""
    from .errors import APIError
    from .services.targets import import_file

    settings = _settings()
    if file.stat().st_size > settings.max_import_bytes:
        raise click.ClickException(f"{file} is larger than {settings.max_import_bytes:,} bytes")
    db = _database(settings)
    try:
        result = import_file(db, None, issuer, file.read_bytes(), file.name, fmt)
    except APIError as exc:
        for detail in exc.details[:20]:
            click.echo(f"  row {detail.get('row')}: {detail.get('message')}", err=True)
        raise click.ClickException(exc.message) from exc
    finally:
        db.dispose()
    click.echo(
        f"{result.total} targets from {issuer}: {result.created} new, "
        f"{result.updated} updated, {result.unchanged} unchanged"
    )


@targets_app.command("list")
@click.option("--status", default=None, help="open, checked, cleared or eradicated.")
def targets_list(status: str | None) -> None:
    """Print targets as tab-separated lines."""
    from sqlalchemy import select

    from .models import Target

    settings = _settings()
    db = _database(settings)
    try:
        with db.read() as session:
            query = select(Target).order_by(Target.seq)
            if status:
                query = query.where(Target.status == status)
            for t in session.scalars(query):
                click.echo(
                    f"{t.id}\t{t.issuer}\t{t.issuer_id}\t{t.status}\t{t.unit or '-'}\t"
                    f"{t.lat:.6f},{t.lon:.6f}"
                )
    finally:
        db.dispose()
    sys.stdout.flush()


@click.command(name="worker")
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    default=None,
    help="ONNX Runtime threads for the scans (default: every core).",
)
def worker_app(threads: int | None) -> None:
    """Run background jobs (scan jobs) claimed from the service's PostgreSQL database.

    Start any number, on any machines that share the service's database and data folder
    (settings as for `plantscout serve`). A worker killed mid-job loses nothing: after
    PLANTSCOUT_JOB_LEASE_S another process takes the job over and scans only the frames
    left. SIGTERM / Ctrl-C parks the running job after its current frame.
    """
    import os
    import signal
    import threading

    from plantscout.drone.jobs import ScanJobs
    from plantscout.model import environment
    from plantscout.model.lifecycle.registry import Registry
    from plantscout.model.lifecycle.resolve import resolve_bundle

    from .logs import configure_logging
    from .work import DbQueue, process_name

    settings = _settings()
    configure_logging(settings.log_level, settings.log_json)
    db = _database(settings)
    if db.backend != "postgresql":
        db.dispose()
        raise click.ClickException(
            "workers share jobs through a PostgreSQL database (set PLANTSCOUT_DATABASE_URL); "
            "with SQLite the service runs its scan jobs itself"
        )
    registry = Registry(environment.REGISTRY.get() or Path(settings.data_dir) / "models")

    def bundle() -> Path:
        """Asked when each job starts: a promote reaches the next job, as in the service."""
        return resolve_bundle(registry=registry, setting=settings.model_path).path

    owner = process_name("worker")
    jobs = ScanJobs(
        settings.resolved_scan_jobs_dir,
        bundle,
        threads=threads or os.cpu_count() or 1,
        queue=DbQueue(db, owner=owner, lease_s=settings.job_lease_s),
    )
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    click.echo(f"worker {owner}: claiming scan jobs from {db.engine.url.host or 'the database'}")
    try:
        stop.wait()
    finally:
        jobs.stop(timeout=float(settings.graceful_shutdown_s))
        db.dispose()
