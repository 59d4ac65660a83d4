"""50 concurrent clients each file 20 inspections: exactly 1,000 records and photos.

A real uvicorn server (in a thread, on a real socket) and 50 client threads with their own
HTTP connections, on SQLite and on PostgreSQL. Each client also re-sends one of its uploads
(as an offline queue does after a lost response): that must return the existing record, not
add a 1,001st. Images are tiny so the test measures the service's bookkeeping, not decoding.
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import uvicorn
from serve_conftest_helpers import make_settings
from serve_images import photo
from sqlalchemy import func, select

from plantscout.serve.app import create_app
from plantscout.serve.keys import mint_key
from plantscout.serve.models import Inspection, InspectionPhoto
from plantscout.serve.vocab import Role

CLIENTS = 50
EACH = 20


class LiveServer:
    def __init__(self, app) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        config = uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=30)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            assert time.monotonic() < deadline and self.thread.is_alive(), "server did not start"
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=60)
        self.sock.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.mark.slow
def test_fifty_clients_twenty_inspections_each(db_url: str, tmp_path: Path, tiny_bundle) -> None:
    """Worth ~10-20 s per database: the only test of real concurrent writers."""
    settings = make_settings(db_url, tmp_path, tiny_bundle, worker_threads=32)
    app = create_app(settings)
    with LiveServer(app) as live:
        services = app.state.services
        with services.db.write() as session:
            keys = {
                f"unit-{u}": mint_key(
                    session, role=Role.INSPECTOR, name=f"officer-{u}", unit=f"unit-{u}"
                ).key
                for u in range(5)
            }

        def client(n: int) -> tuple[list[str], list[int]]:
            unit = f"unit-{n % 5}"
            ids, statuses = [], []
            with httpx.Client(
                base_url=live.url, headers={"X-API-Key": keys[unit]}, timeout=120
            ) as http:
                sent = []
                for i in range(EACH):
                    record_id = str(uuid.uuid4())
                    image = photo(("green", "red", "blue")[i % 3], seed=n * 1000 + i, size=(96, 96))
                    response = http.post(
                        "/v1/inspections",
                        data={
                            "site_type": "farmland",
                            "id": record_id,
                            "lat": "25.0",
                            "lon": "102.7",
                        },
                        files=[("photos", (f"{n}-{i}.png", image, "image/png"))],
                    )
                    statuses.append(response.status_code)
                    ids.append(response.json()["id"])
                    sent.append((record_id, image))
                replay_id, replay_image = sent[n % EACH]
                again = http.post(
                    "/v1/inspections",
                    data={"site_type": "farmland", "id": replay_id, "lat": "25.0", "lon": "102.7"},
                    files=[("photos", ("again.png", replay_image, "image/png"))],
                )
                statuses.append(again.status_code)
                assert again.json()["id"] == replay_id
            return ids, statuses

        with ThreadPoolExecutor(CLIENTS) as pool:
            results = list(pool.map(client, range(CLIENTS)))

        statuses = Counter(s for _, st in results for s in st)
        assert statuses == {201: CLIENTS * EACH, 200: CLIENTS}
        ids = [i for r, _ in results for i in r]
        assert len(ids) == len(set(ids)) == CLIENTS * EACH

        with services.db.read() as session:
            stored = set(session.scalars(select(Inspection.id)))
            photos = session.scalar(select(func.count()).select_from(InspectionPhoto))
            per_unit = dict(
                session.execute(
                    select(Inspection.unit, func.count()).group_by(Inspection.unit)
                ).all()
            )
        assert stored == set(ids)
        assert photos == CLIENTS * EACH
        assert per_unit == {f"unit-{u}": CLIENTS * EACH // 5 for u in range(5)}
        assert sum(1 for _ in services.store.iter_files()) == CLIENTS * EACH
        with services.db.write() as session:
            admin = mint_key(session, role=Role.ADMIN, name="ops", unit=None).key
        metrics = httpx.get(f"{live.url}/metrics", headers={"X-API-Key": admin}).text
        assert "plantscout_inspection_replays_total 50.0" in metrics
