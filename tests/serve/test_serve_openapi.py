"""The OpenAPI document lists every status each operation can answer, and a wrong method gets
a 405 whose ``Allow`` lists the methods the path takes.

The hardening issue found the 404/409/412/413 answers missing from the document, and 405 on
POST routes answering ``Allow: GET, HEAD`` (the field page's static files, mounted at ``/``,
answered for every path). Statuses every request can meet are added by rule
(``serve/openapi.py``); these tests check the rule and compare it with answers the running
service gives.
"""

from __future__ import annotations

import re
import uuid

import pytest
from serve_images import photo

METHODS = ("GET", "POST", "PATCH", "DELETE", "PUT")


@pytest.fixture(scope="module")
def api(make_module_service):
    service = make_module_service(max_photo_bytes=100_000, max_photos=2)
    return service, service.client.get("/openapi.json").json()


def _operations(spec):
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            yield path, method.upper(), operation


def test_every_operation_documents_what_every_request_can_meet(api) -> None:
    _, spec = api
    checked = 0
    for path, method, operation in _operations(spec):
        documented = set(operation["responses"])
        wanted = {"422"}
        if operation.get("security"):
            wanted |= {"401", "403"}
        if "{" in path:
            wanted.add("404")
        if "requestBody" in operation:
            wanted |= {"400", "401", "408", "413", "503"}
        assert wanted <= documented, (method, path, sorted(wanted - documented))
        checked += 1
    assert checked >= 40


ROUTE_SPECIFIC = [
    ("POST", "/v1/inspections", {"200", "201", "409", "413", "503"}),
    ("GET", "/v1/inspections/{inspection_id}", {"404"}),
    ("GET", "/v1/inspections/{inspection_id}/photos/{position}", {"404"}),
    ("PATCH", "/v1/inspections/{inspection_id}", {"404", "412"}),
    ("DELETE", "/v1/keys/{key_id}", {"404"}),
    ("POST", "/v1/scan-jobs/{job_id}/frames", {"404", "409", "413", "503"}),
    ("GET", "/v1/scan-jobs", {"503"}),
    ("POST", "/v1/models/promote", {"404", "409", "503"}),
    ("GET", "/readyz", {"503"}),
    ("GET", "/metrics", {"401", "403"}),
]


@pytest.mark.parametrize(("method", "path", "codes"), ROUTE_SPECIFIC)
def test_route_specific_answers_are_documented(api, method: str, path: str, codes) -> None:
    _, spec = api
    assert codes <= set(spec["paths"][path][method.lower()]["responses"])


def _documented(spec, method: str, path: str, status: int) -> bool:
    for template, operations in spec["paths"].items():
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path) and method.lower() in operations:
            if str(status) in operations[method.lower()]["responses"]:
                return True
    return False


def test_answers_the_service_gives_are_in_the_document(api) -> None:
    service, spec = api
    inspector, reviewer = service.auth("inspector"), service.auth("reviewer")
    record_id = str(uuid.uuid4())
    service.file(photos=[photo("green", seed=1)], id=record_id)
    given = []

    def check(method, path, response):
        given.append((method, path, response.status_code))

    check(
        "POST",
        "/v1/inspections",
        service.client.post(
            "/v1/inspections",
            data={"site_type": "farmland", "id": record_id},
            files=[("photos", ("b.png", photo("green", seed=2), "image/png"))],
            headers=inspector,
        ),
    )  # 409
    check(
        "POST",
        "/v1/inspections",
        service.client.post(
            "/v1/inspections",
            data={"site_type": "farmland"},
            files=[("photos", ("big.png", b"\x89PNG" + b"0" * 200_000, "image/png"))],
            headers=inspector,
        ),
    )  # 413
    path = f"/v1/inspections/{record_id}"
    check(
        "PATCH",
        path,
        service.client.patch(
            path,
            json={"review": {"state": "lookalike"}},
            headers={**reviewer, "If-Match": '"99"'},
        ),
    )  # 412
    check("GET", path + "/photos/7", service.client.get(path + "/photos/7", headers=inspector))
    check("GET", "/v1/targets/nope", service.client.get("/v1/targets/nope", headers=inspector))
    check(
        "GET", "/v1/inspections", service.client.get("/v1/inspections?limit=0", headers=inspector)
    )
    check("GET", "/v1/inspections", service.client.get("/v1/inspections"))  # 401
    check("GET", "/v1/settings", service.client.get("/v1/settings", headers=inspector))  # 403
    assert {status for *_, status in given} == {409, 413, 412, 404, 422, 401, 403}
    missing = [g for g in given if not _documented(spec, *g)]
    assert missing == []


def _methods_at(spec, path: str) -> set[str]:
    methods = set()
    for template, operations in spec["paths"].items():
        if re.match(re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$", path):
            methods |= {m.upper() for m in operations}
    return methods


def test_a_wrong_method_gets_405_listing_the_methods_the_path_takes(api) -> None:
    service, spec = api
    checked = 0
    for template, operations in spec["paths"].items():
        path = re.sub(r"\{[^}]+\}", "x", template).replace("inspections.x", "inspections.csv")
        if path.startswith("/v1/scan-jobs/x"):
            path = path.replace("/x", "/" + "0" * 32, 1)
        takes = {m.upper() for m in operations}
        for method in METHODS:
            if method in takes:
                continue
            response = service.client.request(method, path)
            if response.status_code != 405:
                continue  # another route takes this method at this path (e.g. GET …/{id})
            allowed = {m.strip() for m in response.headers["allow"].split(",")}
            assert takes <= allowed, (method, template, allowed)
            # Nothing else but what some operation at this very path takes (GET /v1/targets/x
            # exists, so /v1/targets/import also allows GET).
            assert allowed <= _methods_at(spec, path) | {"HEAD"}, (method, template, allowed)
            checked += 1
    assert checked > 60
    post_only = service.client.get("/v1/score")
    assert post_only.status_code == 405 and post_only.headers["allow"] == "POST"
    both = service.client.put("/v1/inspections")
    assert both.status_code == 405 and both.headers["allow"] == "GET, HEAD, POST"
