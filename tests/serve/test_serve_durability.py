"""Nothing accepted is lost, nothing half-written remains.

Photos are written durably before the commit that references them. If the writer dies in
between, the database holds no trace of the record, the photo files are orphans that the
sweep removes once old enough, and a retry of the same upload (same client id) succeeds.
Tested both by raising inside the commit (in process) and by killing a real server process
(``os._exit`` at the moment of commit: no cleanup code runs, as in a power cut).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
from serve_images import photo
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from plantscout.serve.models import AuditEvent, Inspection, InspectionPhoto
from plantscout.serve.photos import PhotoStore

REPO = Path(__file__).resolve().parents[2]


def counts(service) -> tuple[int, int, int]:
    with service.services.db.read() as session:
        return tuple(  # type: ignore[return-value]
            session.scalar(select(func.count()).select_from(t))
            for t in (Inspection, InspectionPhoto, AuditEvent)
        )


def store_files(service) -> set[str]:
    return {p.name for p in service.services.store.iter_files()}


def _files(photos: list[bytes]):
    return [("photos", (f"p{i}.png", p, "image/png")) for i, p in enumerate(photos)]


def test_crash_at_commit_leaves_no_record_and_the_retry_succeeds(service) -> None:
    photos = [photo("green", seed=1), photo("red", seed=2)]
    record_id = str(uuid.uuid4())
    before = counts(service)

    def crash(session: Session) -> None:
        if any(isinstance(o, Inspection) for o in session.identity_map.values()):
            raise RuntimeError("power cut")

    event.listen(Session, "before_commit", crash)
    try:
        with pytest.raises(RuntimeError, match="power cut"):
            service.client.post(
                "/v1/inspections",
                data={"site_type": "rooftop", "id": record_id},
                files=_files(photos),
                headers=service.auth("inspector"),
            )
    finally:
        event.remove(Session, "before_commit", crash)

    assert counts(service) == before  # no inspection, no photo rows, no audit entry
    orphans = store_files(service)
    assert len(orphans) == 2  # the photos were on disk before the commit was tried

    retry = service.file(photos=photos, id=record_id, site_type="rooftop")
    assert retry["id"] == record_id and len(retry["photos"]) == 2
    download = service.client.get(retry["photos"][1]["url"], headers=service.auth("inspector"))
    assert download.content == photos[1]
    # The retry reused the files: they are referenced now, and a sweep keeps them.
    result = service.services.store.sweep(_referenced(service), grace_s=0, now=time.time() + 10)
    assert result.removed == 0 and store_files(service) == orphans


def _referenced(service):
    from plantscout.serve.app import referenced_photos

    return referenced_photos(service.services.db)


def test_sweep_removes_orphans_only_after_the_grace_period(service) -> None:
    kept = service.file(photos=[photo("green", seed=3)])
    store = service.services.store
    orphan = store.put(photo("green", seed=4))  # as if a request died before its commit
    tmp_leftover = store.tmp / "half-written"
    tmp_leftover.write_bytes(b"partial")

    young = store.sweep(_referenced(service), grace_s=3600)
    assert young.removed == 0 and store.exists(orphan) and tmp_leftover.exists()

    later = store.sweep(_referenced(service), grace_s=3600, now=time.time() + 7200)
    assert later.removed == 1 and not store.exists(orphan) and not tmp_leftover.exists()
    assert store.exists(kept["photos"][0]["sha256"])


def test_store_is_content_addressed_and_idempotent(tmp_path: Path) -> None:
    store = PhotoStore(tmp_path / "photos")
    data = photo("blue", seed=5)
    digest = store.put(data)
    path = store.path_for(digest)
    assert path.read_bytes() == data
    assert path.relative_to(store.root).parts == (digest[:2], digest[2:4], digest)
    assert store.put(data) == digest and list(store.tmp.iterdir()) == []
    path.write_bytes(data[:10])  # a damaged copy is replaced by the next put of the same bytes
    store.put(data)
    assert path.read_bytes() == data
    with pytest.raises(ValueError):
        store.put(data, sha256="0" * 64)
    with pytest.raises(ValueError):
        store.path_for("../../etc/passwd")


KILLER = """
import os, sys
import uvicorn
from sqlalchemy import event
from sqlalchemy.orm import Session
from plantscout.serve.app import create_app
from plantscout.serve.models import Inspection
from plantscout.serve.settings import Settings

@event.listens_for(Session, "before_commit")
def die(session):
    if any(isinstance(o, Inspection) for o in session.identity_map.values()):
        os._exit(137)  # no finally blocks, no rollback from us: the process is simply gone

uvicorn.run(create_app(Settings(_env_file=None)), host="127.0.0.1", port=int(sys.argv[1]),
            log_level="warning")
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_killing_the_server_at_commit_loses_nothing_accepted(service, tmp_path: Path) -> None:
    """A real server process dies mid-upload; the next server sees no trace but the files.

    Worth its few seconds: it is the only test where no Python cleanup code runs at all.
    """
    port = _free_port()
    env = {
        **os.environ,
        "PLANTSCOUT_DATABASE_URL": service.settings.database_url,
        "PLANTSCOUT_DATA_DIR": str(service.settings.data_dir),
        "PLANTSCOUT_MODEL_PATH": str(service.settings.model_path),
        "PLANTSCOUT_MODEL_THREADS": "1",
        "PLANTSCOUT_SWEEP_INTERVAL_S": "0",
    }
    script = tmp_path / "killer.py"
    script.write_text(KILLER, "utf-8")
    process = subprocess.Popen([sys.executable, str(script), str(port)], env=env, cwd=tmp_path)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, "the server did not start"
            assert time.monotonic() < deadline, "the server did not start in time"
            time.sleep(0.2)
        photos = [photo("green", seed=6), photo("grey", seed=7)]
        record_id = str(uuid.uuid4())
        before = counts(service)
        with pytest.raises(httpx.TransportError):
            httpx.post(
                f"{url}/v1/inspections",
                data={"site_type": "greenhouse", "id": record_id},
                files=_files(photos),
                headers=service.auth("inspector"),
                timeout=30,
            )
        assert process.wait(timeout=30) == 137
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    assert counts(service) == before
    assert len(store_files(service)) == 2
    retry = service.file(photos=photos, id=record_id, site_type="greenhouse")
    assert [p["verdict"] for p in retry["photos"]] == ["suspected", "unusable"]
    listed = service.client.get("/v1/inspections", headers=service.auth("reviewer")).json()
    assert [i["id"] for i in listed["items"]] == [record_id]
