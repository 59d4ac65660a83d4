"""Role-by-endpoint matrix: no key 401, wrong role 403, right role 2xx; keys stored hashed."""

from __future__ import annotations

import re
import uuid

import pytest
from serve_images import photo
from sqlalchemy import select

from plantscout.serve.models import ApiKey
from plantscout.serve.vocab import Role

ROLES = ["inspector", "reviewer", "admin"]
OPEN_ROUTES = {
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/v1/taxonomy"),  # the field page's reference text (routers/web.py)
    # the public check page and tip-offs (routers/public.py, issue 15): rate-limited instead,
    # and shown to read no record in tests/serve/test_tips_public.py
    ("POST", "/v1/public/check"),
    ("POST", "/v1/public/tips"),
    ("POST", "/v1/public/tips/status"),
    ("GET", "/v1/public/learn"),
    ("GET", "/v1/public/teaching/{name}"),
    ("GET", "/v1/public/poster.{fmt}"),
}


@pytest.fixture(scope="module")
def world(make_module_service):
    """A service with one inspection of unit-a and one target, to address in URLs."""
    service = make_module_service()
    record = service.file(photos=[photo("green", seed=1)])
    imported = service.client.post(
        "/v1/targets/import",
        data={"issuer": "survey"},
        files={"file": ("t.csv", b"id,lat,lon,unit\nT1,25.0,102.7,unit-a\n")},
        headers=service.auth("admin"),
    )
    assert imported.status_code == 200, imported.text
    return service, record["id"], imported.json()["ids"][0]


def _call(service, method: str, url: str, role: str | None):
    headers = service.auth(role) if role else {}
    if url == "/v1/score":
        files = [("photos", ("a.png", photo("red", seed=7), "image/png"))]
        return service.client.post(url, files=files, headers=headers)
    if url == "/v1/inspections" and method == "POST":
        files = [("photos", ("a.png", photo("green", seed=uuid.uuid4().int), "image/png"))]
        return service.client.post(
            url, data={"site_type": "courtyard", "unit": "unit-a"}, files=files, headers=headers
        )
    if url == "/v1/targets/import":
        files = {"file": ("t.csv", b"id,lat,lon\nT9,25.0,102.7\n")}
        return service.client.post(url, data={"issuer": "tips"}, files=files, headers=headers)
    if url == "/v1/keys" and method == "POST":
        body = {"role": "inspector", "name": "new", "unit": "unit-a"}
        return service.client.post(url, json=body, headers=headers)
    if method == "PATCH":
        body = {"review": {"state": "confirmed_cannabis", "note": f"by {role}"}}
        return service.client.patch(url, json=body, headers=headers)
    if method == "DELETE":
        throwaway = service.add_key(f"victim-{uuid.uuid4().hex[:6]}", Role.INSPECTOR, "unit-a")
        key_id = throwaway.split("_")[1]
        return service.client.delete(url.replace("{key}", key_id), headers=headers)
    return service.client.request(method, url, headers=headers)


# (method, url template, least role)
MATRIX = [
    ("POST", "/v1/score", "inspector"),
    ("POST", "/v1/inspections", "inspector"),
    ("GET", "/v1/inspections", "inspector"),
    ("GET", "/v1/inspections/{inspection}", "inspector"),
    ("GET", "/v1/inspections/{inspection}/photos/0", "inspector"),
    ("PATCH", "/v1/inspections/{inspection}", "reviewer"),
    ("POST", "/v1/targets/import", "admin"),
    ("GET", "/v1/targets", "inspector"),
    ("GET", "/v1/targets/{target}", "inspector"),
    ("GET", "/v1/exports/inspections.csv", "inspector"),
    ("GET", "/v1/exports/inspections.geojson", "inspector"),
    ("GET", "/v1/exports/inspections.kml", "inspector"),
    ("GET", "/v1/exports/targets.kml", "inspector"),
    ("GET", "/v1/exports/training.csv", "reviewer"),
    ("GET", "/v1/exports/training.zip", "reviewer"),
    ("GET", "/v1/reports/coverage", "reviewer"),
    ("POST", "/v1/keys", "admin"),
    ("GET", "/v1/keys", "admin"),
    ("DELETE", "/v1/keys/{key}", "admin"),
    ("GET", "/v1/settings", "admin"),
    ("GET", "/metrics", "admin"),
]


@pytest.mark.parametrize(
    ("method", "template", "least"), MATRIX, ids=[f"{m} {t}" for m, t, _ in MATRIX]
)
def test_role_matrix(world, method: str, template: str, least: str) -> None:
    service, inspection_id, target_id = world
    url = template.replace("{inspection}", inspection_id).replace("{target}", target_id)
    assert _call(service, method, url, None).status_code == 401
    for role in ROLES:
        response = _call(service, method, url, role)
        allowed = ROLES.index(role) >= ROLES.index(least)
        if allowed:
            assert 200 <= response.status_code < 300, (role, response.text)
        else:
            assert response.status_code == 403, (role, response.text)
            assert response.json()["error"]["code"] == "forbidden"


def test_every_api_route_refuses_a_request_without_a_key(world) -> None:
    """Generic guard for routers added later: each route must declare auth (or be open)."""
    service, _, _ = world
    checked = 0
    paths = service.client.get("/openapi.json").json()["paths"]
    for path, operations in paths.items():
        for method in (m.upper() for m in operations):
            if (method, path) in OPEN_ROUTES or not path.startswith("/v1/"):
                continue
            url = re.sub(r"\{[^}]+\}", "x", path)
            response = service.client.request(method, url)
            assert response.status_code == 401, (method, path, response.status_code)
            assert response.headers.get("www-authenticate") == "Bearer"
            checked += 1
    assert checked >= len(MATRIX) - 2


def test_bad_revoked_and_malformed_keys_are_401(world) -> None:
    service, _, _ = world
    key = service.add_key("short-lived", Role.REVIEWER)
    headers = {"Authorization": f"Bearer {key}"}
    assert service.client.get("/v1/inspections", headers=headers).status_code == 200
    assert service.client.get("/v1/inspections", headers={"X-API-Key": key}).status_code == 200
    key_id = key.split("_")[1]
    revoked = service.client.delete(f"/v1/keys/{key_id}", headers=service.auth("admin"))
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    for presented in (key, key[:-1] + ("A" if key[-1] != "A" else "B"), "psk_nothing", "Basic x"):
        response = service.client.get("/v1/inspections", headers={"X-API-Key": presented})
        assert response.status_code == 401, presented
        assert response.json()["error"]["code"] == "unauthorized"


def test_keys_are_stored_hashed_and_shown_once(world) -> None:
    service, _, _ = world
    created = service.client.post(
        "/v1/keys",
        json={"role": "reviewer", "name": "office-2"},
        headers=service.auth("admin"),
    )
    assert created.status_code == 201
    key = created.json()["key"]
    secret = key.split("_", 2)[2]
    with service.services.db.read() as session:
        rows = list(session.scalars(select(ApiKey)))
    assert all(secret not in r.secret_hash and key not in r.secret_hash for r in rows)
    listed = service.client.get("/v1/keys", headers=service.auth("admin")).json()
    assert "key" not in listed[0] and any(k["name"] == "office-2" for k in listed)
