"""Every malformed request gets a 4xx JSON error that says what is wrong, and changes nothing.

Each case is sent to a service that already holds one record; afterwards the number of
inspections, photo files, targets and audit rows must be exactly what it was.
"""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image
from serve_images import photo
from sqlalchemy import func, select

from plantscout.serve.models import AuditEvent, Inspection, Target


def png_bomb(width: int = 50_000, height: int = 50_000) -> bytes:
    """A valid-looking PNG header claiming 2.5 gigapixels, in a few dozen bytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def truncated_jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.effect_noise((400, 300), 60).convert("RGB").save(buffer, "JPEG", quality=90)
    data = buffer.getvalue()
    return data[: len(data) // 2]


@pytest.fixture(scope="module")
def small_service(make_module_service):
    """Small limits so that 'too large' is cheap to send. Shared: no case may change it."""
    service = make_module_service(max_photo_bytes=200_000, max_photos=3)
    service.file(photos=[photo("green", seed=1)])
    return service


def state(service) -> tuple[int, int, int, int]:
    with service.services.db.read() as session:
        counts = tuple(
            session.scalar(select(func.count()).select_from(t))
            for t in (Inspection, Target, AuditEvent)
        )
    files = sum(1 for _ in service.services.store.iter_files())
    return (*counts, files)  # type: ignore[return-value]


def assert_error(response, status: int, code: str | None = None, mentions: str = "") -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert error["message"], "an error must say what is wrong"
    if code is not None:
        assert error["code"] == code, error
    assert mentions.lower() in (error["message"] + str(error["details"])).lower()


GOOD = {"site_type": "farmland"}

FILING_CASES = {
    # name: (form fields, photos, status, code, mentioned)
    "no photos": (GOOD, [], 422, "invalid", "photos"),
    "not an image": (GOOD, [b"hello, this is text"], 422, "unsupported_format", "photo 1"),
    "empty file": (GOOD, [b""], 422, "truncated_image", "empty"),
    "truncated jpeg": (GOOD, ["truncated"], 422, "truncated_image", "truncated"),
    "decompression bomb": (GOOD, ["bomb"], 413, "image_too_large", "pixels"),
    "photo over the byte limit": (GOOD, ["big"], 413, "payload_too_large", "200,000"),
    "too many photos": (GOOD, ["ok"] * 4, 422, "invalid", "at most 3"),
    "tiny image": (GOOD, ["tiny"], 422, "image_too_small", "at least"),
    "lat out of range": ({**GOOD, "lat": "91", "lon": "100"}, ["ok"], 422, "invalid", "lat"),
    "lon out of range": ({**GOOD, "lat": "20", "lon": "-181"}, ["ok"], 422, "invalid", "lon"),
    "lat without lon": ({**GOOD, "lat": "20"}, ["ok"], 422, "invalid", "together"),
    "lat not a number": ({**GOOD, "lat": "north", "lon": "1"}, ["ok"], 422, "invalid", "lat"),
    "accuracy negative": (
        {**GOOD, "lat": "1", "lon": "1", "accuracy_m": "-3"},
        ["ok"],
        422,
        "invalid",
        "accuracy_m",
    ),
    "bad site type": ({"site_type": "jungle"}, ["ok"], 422, "invalid", "courtyard"),
    "missing site type": ({}, ["ok"], 422, "invalid", "site_type"),
    "unknown field": ({**GOOD, "latitude": "20"}, ["ok"], 422, "invalid", "latitude"),
    "unknown target": ({**GOOD, "target_id": "nope"}, ["ok"], 422, "invalid", "target_id"),
    "bad client id": ({**GOOD, "id": "not-a-uuid"}, ["ok"], 422, "invalid", "id"),
    "naive observed_at": (
        {**GOOD, "observed_at": "2025-06-01T10:00:00"},
        ["ok"],
        422,
        "invalid",
        "timezone",
    ),
    "another unit": ({**GOOD, "unit": "unit-b"}, ["ok"], 403, "forbidden", "unit-b"),
}


def _photo_bytes(kind: bytes | str, seed: int) -> bytes:
    if isinstance(kind, bytes):
        return kind
    return {
        "ok": lambda: photo("green", seed=seed),
        "truncated": truncated_jpeg,
        "bomb": png_bomb,
        "big": lambda: noise_png(seed),
        "tiny": lambda: photo("green", seed=seed, size=(16, 16)),
    }[kind]()


def noise_png(seed: int) -> bytes:
    """Noise does not compress: a 400×400 PNG of it is well over the 200 kB limit."""
    buffer = io.BytesIO()
    Image.effect_noise((400, 400), 80 + seed % 10).convert("RGB").save(buffer, "PNG")
    assert len(buffer.getvalue()) > 200_000
    return buffer.getvalue()


@pytest.mark.parametrize("case", list(FILING_CASES))
def test_bad_filing_is_refused_and_changes_nothing(small_service, case: str) -> None:
    fields, kinds, status, code, mentions = FILING_CASES[case]
    before = state(small_service)
    files = [
        ("photos", (f"p{i}.png", _photo_bytes(k, 1000 + i), "image/png"))
        for i, k in enumerate(kinds)
    ]
    response = small_service.client.post(
        "/v1/inspections",
        data=fields,
        files=files or None,
        headers=small_service.auth("inspector"),
    )
    assert_error(response, status, code, mentions)
    assert state(small_service) == before


def test_score_endpoint_rejects_bad_photos_naming_which(small_service) -> None:
    files = [
        ("photos", ("good.png", photo("green", seed=5), "image/png")),
        ("photos", ("cut.jpg", truncated_jpeg(), "image/jpeg")),
    ]
    response = small_service.client.post(
        "/v1/score", files=files, headers=small_service.auth("inspector")
    )
    assert_error(response, 422, "truncated_image", "photo 2 (cut.jpg)")
    assert response.json()["error"]["details"][0]["photo"] == 1


def test_request_body_over_the_limit_is_refused_before_reading(small_service) -> None:
    before = state(small_service)
    big = b"x" * (small_service.settings.max_request_bytes + 1)
    response = small_service.client.post(
        "/v1/inspections",
        content=big,
        headers={
            **small_service.auth("inspector"),
            "Content-Type": "multipart/form-data; boundary=x",
        },
    )
    assert_error(response, 413, "payload_too_large")
    assert state(small_service) == before


READ_CASES = {
    "unknown inspection": (
        "GET",
        "/v1/inspections/0d9a4e8e-0000-0000-0000-000000000000",
        None,
        404,
    ),
    "unknown photo": ("GET", "/v1/inspections/nope/photos/0", None, 404),
    "negative photo index": ("GET", "/v1/inspections/nope/photos/-1", None, 422),
    "bad cursor": ("GET", "/v1/inspections?cursor=Zm9vYmFy", None, 422),
    "bad bbox": ("GET", "/v1/inspections?bbox=1,2,3", None, 422),
    "bbox lat order": ("GET", "/v1/inspections?bbox=100,30,101,20", None, 422),
    "bad since": ("GET", "/v1/inspections?since=yesterday", None, 422),
    "since after until": ("GET", "/v1/inspections?since=2025-06-05&until=2025-06-01", None, 422),
    "bad verdict": ("GET", "/v1/inspections?verdict=guilty", None, 422),
    "bad review state": ("GET", "/v1/inspections?review_state=done", None, 422),
    "limit too big": ("GET", "/v1/inspections?limit=100000", None, 422),
    "bad export format": ("GET", "/v1/exports/inspections.xlsx", None, 422),
    "unknown target": ("GET", "/v1/targets/nope", None, 404),
    "bad target status": ("GET", "/v1/targets?status=done", None, 422),
    "unknown key": ("DELETE", "/v1/keys/0123456789abcdef", None, 404),
    "bad key role": ("POST", "/v1/keys", {"role": "boss", "name": "x"}, 422),
    "inspector key without unit": ("POST", "/v1/keys", {"role": "inspector", "name": "x"}, 422),
    "unknown route": ("GET", "/v1/nothing-here", None, 404),
}


@pytest.mark.parametrize("case", list(READ_CASES))
def test_bad_requests_get_clear_errors(small_service, case: str) -> None:
    method, url, body, status = READ_CASES[case]
    before = state(small_service)
    response = small_service.client.request(
        method, url, json=body, headers=small_service.auth("admin")
    )
    assert_error(response, status)
    assert state(small_service) == before


PATCH_CASES = {
    "empty body": ({}, 422, "nothing to change"),
    "bad review state": ({"review": {"state": "guilty"}}, 422, "review.state"),
    "negative plants": (
        {"eradication": {"date": "2025-06-01", "plants": -1, "method": "burned"}},
        422,
        "plants",
    ),
    "bad method": (
        {"eradication": {"date": "2025-06-01", "plants": 3, "method": "prayer"}},
        422,
        "method",
    ),
    "bad date": (
        {"eradication": {"date": "June first", "plants": 3, "method": "burned"}},
        422,
        "date",
    ),
    "future date": (
        {"eradication": {"date": "2999-01-01", "plants": 3, "method": "burned"}},
        422,
        "future",
    ),
    "unknown target": ({"target_id": "nope"}, 422, "target"),
    "unknown field": ({"verdict": "clear"}, 422, "verdict"),
    "review removed": ({"review": None}, 422, "review"),
    "wrong label": (
        {"review": {"state": "confirmed_cannabis", "label": "opium_poppy"}},
        422,
        "label",
    ),
}


@pytest.mark.parametrize("case", list(PATCH_CASES))
def test_bad_patches_change_nothing(small_service, case: str) -> None:
    body, status, mentions = PATCH_CASES[case]
    record = small_service.client.get(
        "/v1/inspections", headers=small_service.auth("reviewer")
    ).json()["items"][0]
    before = state(small_service)
    response = small_service.client.patch(
        f"/v1/inspections/{record['id']}", json=body, headers=small_service.auth("reviewer")
    )
    assert_error(response, status, mentions=mentions)
    assert state(small_service) == before
    after = small_service.client.get(
        f"/v1/inspections/{record['id']}", headers=small_service.auth("reviewer")
    ).json()
    assert after["version"] == record["version"]


def test_malformed_json_body(small_service) -> None:
    record = small_service.client.get(
        "/v1/inspections", headers=small_service.auth("reviewer")
    ).json()["items"][0]
    response = small_service.client.patch(
        f"/v1/inspections/{record['id']}",
        content=b'{"review": {"state": ',
        headers={**small_service.auth("reviewer"), "Content-Type": "application/json"},
    )
    assert_error(response, 422)


IMPORT_CASES = {
    "not json": (b"{ not json", "t.geojson", "not valid JSON"),
    "not a feature collection": (
        b'{"type": "Point", "coordinates": [1, 2]}',
        "t.geojson",
        "FeatureCollection",
    ),
    "missing id": (
        b'{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},'
        b'"geometry":{"type":"Point","coordinates":[102.7,25.0]}}]}',
        "t.geojson",
        "issuer's id",
    ),
    "lat out of range": (
        b'{"type":"FeatureCollection","features":[{"type":"Feature","id":"A1","properties":{},'
        b'"geometry":{"type":"Point","coordinates":[25.0,102.7]}}]}',
        "t.geojson",
        "latitude",
    ),
    "open polygon": (
        b'{"type":"FeatureCollection","features":[{"type":"Feature","id":"A1","properties":{},'
        b'"geometry":{"type":"Polygon","coordinates":[[[1,1],[1,2],[2,2],[2,1]]]}}]}',
        "t.geojson",
        "closed",
    ),
    "line geometry": (
        b'{"type":"FeatureCollection","features":[{"type":"Feature","id":"A1","properties":{},'
        b'"geometry":{"type":"LineString","coordinates":[[1,1],[1,2]]}}]}',
        "t.geojson",
        "LineString",
    ),
    "duplicate ids in one file": (
        b"id,lat,lon\nA1,25.0,102.7\nA2,25.1,102.7\nA1,25.2,102.7\n",
        "t.csv",
        "appears twice",
    ),
    "csv without coordinates": (b"id,name\nA1,x\n", "t.csv", "lat,lon"),
    "csv bad number": (b"id,lat,lon\nA1,25.0,east\n", "t.csv", "not numbers"),
    "csv bad date": (b"id,lat,lon,due_on\nA1,25.0,102.7,next week\n", "t.csv", "due_on"),
    "csv due before issued": (
        b"id,lat,lon,issued_on,due_on\nA1,25.0,102.7,2025-06-10,2025-06-01\n",
        "t.csv",
        "before",
    ),
    "not utf-8": ("id,lat,lon,name\nA1,25,102,罂粟".encode("gb18030"), "t.csv", "UTF-8"),
    "empty": (b"", "t.csv", "header"),
}


@pytest.mark.parametrize("case", list(IMPORT_CASES))
def test_bad_target_files_import_nothing(small_service, case: str) -> None:
    data, name, mentions = IMPORT_CASES[case]
    before = state(small_service)
    response = small_service.client.post(
        "/v1/targets/import",
        data={"issuer": "survey-x"},
        files={"file": (name, data)},
        headers=small_service.auth("admin"),
    )
    assert_error(response, 422, mentions=mentions)
    assert state(small_service) == before


def test_a_bad_row_after_good_ones_rejects_the_whole_file(small_service) -> None:
    before = state(small_service)
    data = b"id,lat,lon\nA1,25.0,102.7\nA2,25.1,102.7\nA3,95.0,102.7\n"
    response = small_service.client.post(
        "/v1/targets/import",
        data={"issuer": "survey-x"},
        files={"file": ("t.csv", data)},
        headers=small_service.auth("admin"),
    )
    assert_error(response, 422, mentions="row 4")
    assert response.json()["error"]["details"][0]["issuer_id"] == "A3"
    assert state(small_service) == before


REPEATED = {
    "form field": (
        "POST",
        "/v1/inspections",
        {"site_type": ["farmland", "courtyard"]},
        "site_type",
    ),
    "notes": (
        "POST",
        "/v1/inspections",
        {"notes": ["first", "second"], "site_type": "farmland"},
        "notes",
    ),
    "import issuer": ("POST", "/v1/targets/import", {"issuer": ["a", "b"]}, "issuer"),
    "query limit": ("GET", "/v1/inspections?limit=1&limit=500", None, "limit"),
    "query since": (
        "GET",
        "/v1/exports/inspections.csv?since=2025-01-01&since=2020-01-01",
        None,
        "since",
    ),
}


@pytest.mark.parametrize("case", list(REPEATED))
def test_a_field_given_twice_is_refused_not_silently_overwritten(small_service, case) -> None:
    method, url, fields, name = REPEATED[case]
    before = state(small_service)
    who = "admin" if "import" in url else "reviewer" if method == "GET" else "inspector"
    files = None
    if fields is not None:
        upload = "file" if "import" in url else "photos"
        payload = b"id,lat,lon\nx,1,2\n" if "import" in url else photo("green", seed=77)
        files = [(upload, ("a.png", payload, "image/png"))]
    response = small_service.client.request(
        method, url, data=fields, files=files, headers=small_service.auth(who)
    )
    assert_error(response, 422, "invalid", name)
    assert "more than once" in response.json()["error"]["message"]
    assert state(small_service) == before


def test_list_filters_and_several_photos_may_repeat(small_service) -> None:
    listed = small_service.client.get(
        "/v1/inspections?unit=unit-a&unit=unit-b&verdict=clear&verdict=suspected",
        headers=small_service.auth("reviewer"),
    )
    assert listed.status_code == 200, listed.text
    filed = small_service.file(photos=[photo("green", seed=78), photo("red", seed=79)])
    assert len(filed["photos"]) == 2
