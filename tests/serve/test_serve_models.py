"""Model lifecycle over HTTP (issue 7): promote / rollback / reload while inspections are
being filed, with zero failed requests and every record naming the bundle that scored it;
and the reference-gallery admin endpoints."""

from __future__ import annotations

import io
import threading
import uuid
from pathlib import Path

from PIL import Image
from serve_images import photo

from plantscout.model import load_bundle
from plantscout.model.lifecycle.registry import Registry


def _sha(path: Path) -> str:
    return load_bundle(path).sha256


def test_the_registry_bundle_replaces_the_startup_model(make_service, registry, two_bundles):
    registry.promote("2.0.0")
    service = make_service()
    listing = service.client.get("/v1/models", headers=service.auth("admin")).json()
    assert listing["serving"]["model"]["sha256"] == _sha(two_bundles[1])
    assert [b["current"] for b in listing["bundles"]] == [False, True]
    record = service.file()
    assert record["model"]["sha256"] == _sha(two_bundles[1])


def test_promote_and_rollback_under_load_fail_no_request(make_service, registry, two_bundles):
    registry.promote("1.0.0")
    service = make_service()
    stop = threading.Event()
    results: list[tuple[int, str]] = []
    lock = threading.Lock()

    def inspector() -> None:
        while not stop.is_set():
            files = [("photos", ("p.png", photo("green", seed=uuid.uuid4().int), "image/png"))]
            response = service.client.post(
                "/v1/inspections",
                data={"site_type": "farmland"},
                files=files,
                headers=service.auth("inspector"),
            )
            with lock:
                results.append((response.status_code, response.json().get("id", response.text)))

    threads = [threading.Thread(target=inspector) for _ in range(3)]
    for thread in threads:
        thread.start()
    admin = service.auth("admin")
    try:
        for _ in range(3):
            for path, body in (("promote", {"version": "2.0.0"}), ("rollback", {})):
                before = len(results)
                response = service.client.post(f"/v1/models/{path}", json=body, headers=admin)
                assert response.status_code == 200, response.text
                while len(results) < before + 3:  # some requests on each bundle
                    threading.Event().wait(0.01)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert [r for r in results if r[0] != 201] == []  # zero failed requests
    seen = set()
    for _, inspection_id in results:
        record = service.client.get(
            f"/v1/inspections/{inspection_id}", headers=service.auth("reviewer")
        ).json()
        assert record["photos"][0]["score"]["model"] == record["model"]  # one bundle per record
        seen.add(record["model"]["sha256"])
    assert seen == {_sha(two_bundles[0]), _sha(two_bundles[1])}
    events = [e["action"] for e in registry.history() if e["action"] != "add"]
    assert events == ["promote"] + ["promote", "rollback"] * 3
    assert registry.history()[-1]["actor"] == "admin"


def test_errors_and_roles(make_service, registry) -> None:
    registry.promote("1.0.0")
    service = make_service()
    admin = service.auth("admin")
    response = service.client.post("/v1/models/promote", json={"version": "9"}, headers=admin)
    assert response.status_code == 404 and "no bundle" in response.json()["error"]["message"]
    response = service.client.post("/v1/models/rollback", json={}, headers=admin)
    assert response.status_code == 409
    for who, status in (("reviewer", 403), ("inspector", 403)):
        response = service.client.post(
            "/v1/models/promote", json={"version": "2.0.0"}, headers=service.auth(who)
        )
        assert response.status_code == status
    assert service.client.get("/v1/models").status_code == 401


def test_reload_follows_a_promote_made_from_the_shell(make_service, registry, two_bundles):
    registry.promote("1.0.0")
    service = make_service()
    Registry(registry.root).promote("2.0.0")  # `plantscout model promote 2.0.0`
    response = service.client.post("/v1/models/reload", headers=service.auth("admin"))
    assert response.json()["changed"] is True
    assert service.file()["model"]["sha256"] == _sha(two_bundles[1])


def _jpeg(colour: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (160, 120), colour).save(buffer, "JPEG", quality=92)
    return buffer.getvalue()


def test_gallery_endpoints_teach_a_label_and_scores_say_so(make_service, registry) -> None:
    registry.promote("1.0.0")
    service = make_service()
    admin = service.auth("admin")
    purple = (153, 49, 201)
    before = service.client.post(
        "/v1/score", files=[("photos", ("x.jpg", _jpeg(purple), "image/jpeg"))], headers=admin
    ).json()
    assert before["photos"][0]["score"]["verdict"] == "clear"
    cases = {
        "case-1": [(150, 50, 200), (160, 40, 210), (145, 55, 195)],
        "case-2": [(140, 60, 190), (165, 50, 215), (158, 52, 208)],
    }
    for case, colours in cases.items():
        response = service.client.post(
            "/v1/gallery/references",
            data={"label": "opium_poppy", "group": case, "licence": "internal"},
            files=[("photos", (f"{i}.jpg", _jpeg(c), "image/jpeg")) for i, c in enumerate(colours)],
            headers=admin,
        )
        assert response.status_code == 201, response.text
    assert response.json()["rules"]["opium_poppy"]["groups"] == 2
    after = service.client.post(
        "/v1/score", files=[("photos", ("x.jpg", _jpeg(purple), "image/jpeg"))], headers=admin
    ).json()
    score = after["photos"][0]["score"]
    assert score["verdict"] == "review" and score["gallery"]["label"] == "opium_poppy"
    poppy = next(s for s in score["species"] if s["key"] == "opium_poppy")
    assert poppy["source"] == "gallery" and poppy["level"] == "review"
    # Stored with the bundle, so a restart keeps it; another bundle would not use it.
    sha = registry.current().bundle.sha256
    assert registry.gallery_path(sha).is_file()
    gallery = service.client.get("/v1/gallery", headers=admin).json()
    assert len(gallery["references"]) == 6 and gallery["references"][0]["licence"] == "internal"
    bad = service.client.post(
        "/v1/gallery/references",
        data={"label": "papaver"},
        files=[("photos", ("a.jpg", _jpeg(purple), "image/jpeg"))],
        headers=admin,
    )
    assert bad.status_code == 422
    removed = service.client.delete(
        "/v1/gallery/references", params={"label": "opium_poppy"}, headers=admin
    ).json()
    assert removed["removed"] == 6
    again = service.client.post(
        "/v1/score", files=[("photos", ("x.jpg", _jpeg(purple), "image/jpeg"))], headers=admin
    ).json()
    assert again["photos"][0]["score"]["verdict"] == "clear"
