"""``serve/runtime.py``: the served model's life (issue 12) — the bundle is loaded once at
start, scan jobs score with the bundle being served when they start (so a promote reaches
them), and a shutdown parks a running scan job, which the next start finishes."""

from __future__ import annotations

import io
import time
from collections import Counter
from pathlib import Path

import onnxruntime
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from PIL import Image

from plantscout.model import bundle as bundle_module
from plantscout.model import load_bundle


def _frame(seed: int) -> bytes:
    image = Image.new("RGB", (600, 400), (128, 128, 128))
    image.paste((40, 200, 40), (200, 100, 460, 360))
    image.putpixel((seed % 600, 0), (0, 0, 0))  # distinct files, distinct hashes
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def _submit(service, n: int) -> str:
    files = [("frames", (f"f{i}.jpg", _frame(i), "image/jpeg")) for i in range(n)]
    response = service.client.post(
        "/v1/scan-jobs", files=files, data={"tile_px": "128"}, headers=service.auth("inspector")
    )
    assert response.status_code == 202, response.text
    return response.json()["id"]


def _until(condition, timeout: float = 120.0):
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
    return value


def _finished(service, job_id: str) -> dict:
    def status() -> dict | None:
        data = service.client.get(
            f"/v1/scan-jobs/{job_id}", headers=service.auth("inspector")
        ).json()
        return data if data["state"] in ("done", "failed", "cancelled") else None

    return _until(status)


@pytest.mark.parametrize("promoted", [True, False], ids=["registry", "model-path"])
def test_serve_loads_the_bundle_once(
    promoted: bool, tmp_path: Path, two_bundles, registry, monkeypatch
) -> None:
    """Through ``plantscout serve``: one sha256 of the ONNX file and one ONNX session at start
    (it was three loads: the CLI's check, the app, the registry sync)."""
    from plantscout.cli import cli

    if promoted:
        registry.promote("2.0.0")
    expected = load_bundle(two_bundles[1] if promoted else two_bundles[0]).sha256
    hashed: Counter[str] = Counter()
    sessions: Counter[str] = Counter()
    real_hash, real_session = bundle_module.file_sha256, onnxruntime.InferenceSession

    def counting_hash(path: Path) -> str:
        hashed[str(path)] += 1
        return real_hash(path)

    def counting_session(path, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003
        sessions[str(path)] += 1
        return real_session(path, *args, **kwargs)

    ready: list[dict] = []

    def run(app, **_options) -> None:  # noqa: ANN001, ANN003 - stands in for uvicorn.run
        with TestClient(app) as client:
            ready.append(client.get("/readyz").json())

    monkeypatch.setattr(bundle_module, "file_sha256", counting_hash)
    monkeypatch.setattr(onnxruntime, "InferenceSession", counting_session)
    monkeypatch.setattr("uvicorn.run", run)
    monkeypatch.setattr("plantscout.serve.logs.configure_logging", lambda *a, **k: None)
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("PLANTSCOUT_MODEL_PATH", str(two_bundles[0]))
    result = CliRunner().invoke(cli, ["serve", "--data-dir", str(tmp_path / "var")])
    assert result.exit_code == 0, result.output
    assert ready and ready[0]["checks"]["model"]["sha256"] == expected
    assert sum(hashed.values()) == 1, hashed
    assert sum(sessions.values()) == 1, sessions


def test_serve_refuses_to_start_without_a_model(tmp_path: Path, monkeypatch) -> None:
    from plantscout.cli import cli

    def run(app, **_options) -> None:  # noqa: ANN001, ANN003
        with TestClient(app):
            pass

    monkeypatch.setattr("uvicorn.run", run)
    monkeypatch.setattr("plantscout.serve.logs.configure_logging", lambda *a, **k: None)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PLANTSCOUT_REGISTRY", raising=False)
    monkeypatch.setenv("PLANTSCOUT_MODEL_PATH", str(tmp_path / "no-such-bundle"))
    result = CliRunner().invoke(cli, ["serve", "--data-dir", str(tmp_path / "var")])
    assert result.exit_code != 0
    assert "PLANTSCOUT_MODEL_PATH" in f"{result.output} {result.exception}"  # says what to set


def test_a_promote_reaches_the_next_scan_job(make_service, registry, two_bundles) -> None:
    registry.promote("1.0.0")
    service = make_service()
    first = _finished(service, _submit(service, 1))
    promote = service.client.post(
        "/v1/models/promote", json={"version": "2.0.0"}, headers=service.auth("admin")
    )
    assert promote.status_code == 200, promote.text
    second = _finished(service, _submit(service, 1))
    shas = [load_bundle(b).sha256 for b in two_bundles]
    assert [m["sha256"] for m in first["summary"]["models"]] == [shas[0]]
    assert [m["sha256"] for m in second["summary"]["models"]] == [shas[1]]


def test_shutdown_parks_a_running_scan_job_and_the_next_start_finishes_it(
    make_service, monkeypatch
) -> None:
    from plantscout.drone import runner

    service = make_service()
    jobs = service.services.runtime.scan_jobs
    scan_one, calls = runner.process_frame, []

    def second_frame_waits_for_shutdown(path, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003
        calls.append(path.name)
        if len(calls) == 2:
            _until(lambda: jobs.stopping)
        return scan_one(path, *args, **kwargs)

    monkeypatch.setattr(runner, "process_frame", second_frame_waits_for_shutdown)
    job_id = _submit(service, 4)
    _until(lambda: len(calls) == 2)
    make_service.started.remove(service.client)
    service.client.__exit__(None, None, None)  # the app's lifespan ends: runtime.stop()
    parked = jobs.status(job_id)
    assert (parked.state, parked.frames_done) == ("queued", 2)
    assert not jobs._thread.is_alive()

    monkeypatch.setattr(runner, "process_frame", scan_one)
    again = make_service()
    done = _finished(again, job_id)
    assert (done["state"], done["frames_done"], done["frames_resumed"]) == ("done", 4, 2)
