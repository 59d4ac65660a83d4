"""A real service over HTTP for the browser tests: the real app under uvicorn on a free port,
with an inspector, a reviewer and an admin key. In its own module (not conftest) so a test can
start one for a bundle of its own: ``yield from serve(bundle, data_dir)``."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest


@dataclass
class Keys:
    inspector: str
    reviewer: str
    admin: str


@dataclass
class LiveServer:
    url: str
    keys: Keys
    app: object

    def client(self, key: str) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"X-API-Key": key}, timeout=60)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve(model_path: Path | None, data: Path) -> Iterator[LiveServer]:
    """The real app under uvicorn on a free port, serving ``model_path``, with three keys."""
    import uvicorn

    from plantscout.serve.app import create_app
    from plantscout.serve.keys import mint_key
    from plantscout.serve.settings import Settings
    from plantscout.serve.vocab import Role

    settings = Settings(
        data_dir=data, model_path=model_path, score_concurrency=1, model_threads=1, log_json=False
    )
    app = create_app(settings)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the service did not start")
        time.sleep(0.05)
    services = app.state.services
    with services.db.write() as session:
        keys = Keys(
            inspector=mint_key(session, role=Role.INSPECTOR, name="王警官", unit="城关社区").key,
            reviewer=mint_key(session, role=Role.REVIEWER, name="李复核", unit=None).key,
            admin=mint_key(session, role=Role.ADMIN, name="admin", unit=None).key,
        )
    yield LiveServer(url=f"http://127.0.0.1:{port}", keys=keys, app=app)
    server.should_exit = True
    thread.join(timeout=30)
