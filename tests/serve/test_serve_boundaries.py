"""Values Python accepts but a database cannot store get a 4xx (or are ignored and flagged),
never a 500 — on SQLite and on PostgreSQL, where most of them used to differ.

The hardening issue found: capture times at year 1 or 9999 with an offset overflowing on the
way to the database (the photo orphaned, the phone's queue stuck), ``until=9999-12-31`` and
``since`` at year 1 with an offset, cursors ≥ 2^63, deeply nested JSON and oversized CSV cells
in target imports, and on PostgreSQL NUL characters in any text, filter or path id and NaN in
JSON properties. One mechanism per kind of input answers them (``serve/bounds.py``).
"""

from __future__ import annotations

import base64
import csv
import io
import json
import uuid
from xml.etree import ElementTree

import pytest
from PIL import Image
from serve_images import photo
from sqlalchemy import event, func, select

from plantscout.serve.models import AuditEvent, Inspection, InspectionPhoto, Target


def jpeg_with_time(exif_time: str | None = None, offset: str | None = None, xmp: str | None = None):
    """A green JPEG whose EXIF (DateTimeOriginal + OffsetTimeOriginal) or XMP (CreateDate)
    carries the given capture time, as a camera with a broken clock writes it."""
    image = Image.new("RGB", (128, 128), (40, 200, 40))
    image.putpixel((uuid.uuid4().int % 128, 3), (1, 2, 3))
    kwargs: dict = {"quality": 95}
    if exif_time is not None:
        exif = Image.Exif()
        exif.get_ifd(0x8769)[0x9003] = exif_time
        if offset is not None:
            exif.get_ifd(0x8769)[0x9011] = offset
        kwargs["exif"] = exif.tobytes()
    if xmp is not None:
        kwargs["xmp"] = (
            '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
            'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
            f'xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:CreateDate="{xmp}"/></rdf:RDF>'
            "</x:xmpmeta>"
        ).encode()
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", **kwargs)
    return buffer.getvalue()


def counts(service) -> tuple[int, ...]:
    with service.services.db.read() as session:
        rows = tuple(
            session.scalar(select(func.count()).select_from(t))
            for t in (Inspection, Target, AuditEvent)
        )
    return (*rows, sum(1 for _ in service.services.store.iter_files()))


def post_inspection(service, fields: dict, photos: list[tuple[str, bytes]], who="inspector"):
    files = [("photos", (name, data, "image/jpeg")) for name, data in photos]
    return service.client.post(
        "/v1/inspections",
        data={"site_type": "farmland", **fields},
        files=files,
        headers=service.auth(who),
    )


# -- capture times ------------------------------------------------------------------------

CLIENT_TIMES = {
    "year 1, east of UTC": "0001-01-01T00:00:00+08:00",
    "year 9999, west of UTC": "9999-12-31T23:30:00-05:00",
}


@pytest.mark.parametrize("case", list(CLIENT_TIMES))
def test_a_client_time_that_cannot_be_stored_is_ignored_flagged_and_the_record_filed(
    service, case: str
) -> None:
    """A phone clock at year 1 or 9999 must not leave the record in the queue forever: it is
    filed with the server's time, and the time it sent is kept as text beside it."""
    sent = CLIENT_TIMES[case]
    record_id = str(uuid.uuid4())
    pic = ("a.jpg", jpeg_with_time())
    first = post_inspection(service, {"observed_at": sent, "id": record_id}, [pic])
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["observed_at_source"] == "server"
    assert body["observed_at_rejected"] == sent  # as sent
    assert body["observed_at"][:4] not in ("0001", "9999")
    # The queue re-sends exactly the same request: it is recognised, not refused.
    again = post_inspection(service, {"observed_at": sent, "id": record_id}, [pic])
    assert again.status_code == 200, again.text
    assert again.json()["id"] == record_id


PHOTO_TIMES = {
    "EXIF year 1 +08:00": {"exif_time": "0001:01:01 00:00:00", "offset": "+08:00"},
    "EXIF year 9999 -05:00": {"exif_time": "9999:12:31 23:30:00", "offset": "-05:00"},
    "XMP year 9999 -05:00": {"xmp": "9999-12-31T23:30:00-05:00"},
    "XMP year 1 +09:00": {"xmp": "0001-01-01T00:30:00+09:00"},
}


@pytest.mark.parametrize("case", list(PHOTO_TIMES))
def test_a_photo_capture_time_that_cannot_be_stored_is_ignored_and_flagged(
    service, case: str
) -> None:
    before = counts(service)
    response = post_inspection(service, {}, [("cam.jpg", jpeg_with_time(**PHOTO_TIMES[case]))])
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["photos"][0]["captured_at"] is None
    assert body["observed_at_source"] == "server"
    with service.services.db.read() as session:
        tags = session.scalar(
            select(InspectionPhoto.geotags).where(InspectionPhoto.inspection_id == body["id"])
        )
    assert tags["captured_at"] is None
    assert tags["captured_at_rejected"][:4] in ("0001", "9999")
    assert any("capture time" in w and "ignored" in w for w in tags["warnings"])
    after = counts(service)
    assert after[0] == before[0] + 1 and after[3] == before[3] + 1  # record and photo kept


# -- filters at the edges of time -----------------------------------------------------------

EDGES = {
    "until=9999-12-31": ({"until": "9999-12-31"}, "all"),
    "since year 1 +05:00": ({"since": "0001-01-01T00:00:00+05:00"}, "all"),
    "until 9999 -05:00": ({"until": "9999-12-31T23:59:59-05:00"}, "all"),
    "since 9999 -05:00": ({"since": "9999-12-31T23:00:00-05:00"}, "none"),
    "until year 1 +05:00": ({"until": "0001-01-01T03:00:00+05:00"}, "none"),
}


@pytest.fixture(scope="module")
def edge_service(make_module_service):
    service = make_module_service()
    for seed in range(3):
        service.file(photos=[photo("green", seed=900 + seed)], notes=f"n{seed}")
    return service


@pytest.mark.parametrize("case", list(EDGES))
def test_time_filters_at_the_edges_of_time_answer_exactly(edge_service, case: str) -> None:
    params, expect = EDGES[case]
    client, reviewer = edge_service.client, edge_service.auth("reviewer")
    everything = client.get("/v1/inspections", headers=reviewer).json()["items"]
    assert len(everything) == 3
    wanted = {i["id"] for i in everything} if expect == "all" else set()

    listed = client.get("/v1/inspections", params=params, headers=reviewer)
    assert listed.status_code == 200, listed.text
    assert {i["id"] for i in listed.json()["items"]} == wanted

    report = client.get("/v1/reports/coverage", params=params, headers=reviewer)
    assert report.status_code == 200, report.text
    assert report.json()["totals"]["inspections"] == len(wanted)
    report_csv = client.get(
        "/v1/reports/coverage", params={**params, "format": "csv"}, headers=reviewer
    )
    assert report_csv.status_code == 200, report_csv.text
    totals = list(csv.DictReader(io.StringIO(report_csv.text)))[-1]
    assert int(totals["inspections"]) == len(wanted)

    exported = client.get("/v1/exports/inspections.csv", params=params, headers=reviewer)
    assert exported.status_code == 200, exported.text
    rows = list(csv.DictReader(io.StringIO(exported.text.lstrip("\ufeff"))))
    assert {r["id"] for r in rows} == wanted
    geojson = client.get("/v1/exports/inspections.geojson", params=params, headers=reviewer)
    assert geojson.status_code == 200
    assert {f["id"] for f in json.loads(geojson.text)["features"]} == wanted
    kml = client.get("/v1/exports/inspections.kml", params=params, headers=reviewer)
    assert kml.status_code == 200
    ElementTree.fromstring(kml.content)  # a whole document, not a file cut short


def cursor(number: int) -> str:
    return base64.urlsafe_b64encode(f"v1:{number}".encode()).decode().rstrip("=")


@pytest.mark.parametrize("path", ["/v1/inspections", "/v1/targets"])
@pytest.mark.parametrize("number", [2**63, 2**63 + 5, 10**30])
def test_a_cursor_beyond_a_64_bit_sequence_is_a_422(edge_service, path: str, number: int):
    response = edge_service.client.get(
        path, params={"cursor": cursor(number)}, headers=edge_service.auth("reviewer")
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["details"][0]["field"] == "cursor"


# -- NUL characters -------------------------------------------------------------------------

NUL_URLS = {
    "inspection path id": ("GET", "/v1/inspections/a%00b", "reviewer"),
    "photo path id": ("GET", "/v1/inspections/a%00b/photos/0", "reviewer"),
    "target path id": ("GET", "/v1/targets/a%00b", "reviewer"),
    "key path id": ("DELETE", "/v1/keys/a%00b", "admin"),
    "unit filter": ("GET", "/v1/inspections?unit=a%00b", "reviewer"),
    "inspector filter": ("GET", "/v1/inspections?inspector=x%00", "reviewer"),
    "target filter": ("GET", "/v1/inspections?target_id=%00", "reviewer"),
    "issuer filter": ("GET", "/v1/targets?issuer=s%00", "reviewer"),
    "export filter": ("GET", "/v1/exports/inspections.csv?inspector=a%00", "reviewer"),
    "target export filter": ("GET", "/v1/exports/targets.kml?unit=a%00", "reviewer"),
    "coverage filter": ("GET", "/v1/reports/coverage?unit=%00", "reviewer"),
}


@pytest.mark.parametrize("case", list(NUL_URLS))
def test_a_nul_in_a_path_id_or_filter_is_a_422(edge_service, case: str) -> None:
    method, url, who = NUL_URLS[case]
    before = counts(edge_service)
    response = edge_service.client.request(method, url, headers=edge_service.auth(who))
    assert response.status_code == 422, response.text
    assert "NUL" in response.json()["error"]["message"]
    assert counts(edge_service) == before


GEOJSON_POINT = {"type": "Point", "coordinates": [100.5, 21.9]}


def _geojson(props: dict) -> bytes:
    feature = {"type": "Feature", "id": "t-1", "geometry": GEOJSON_POINT, "properties": props}
    return json.dumps({"type": "FeatureCollection", "features": [feature]}).encode()


def _import(service, content: bytes, name: str, issuer: str = "survey"):
    return service.client.post(
        "/v1/targets/import",
        data={"issuer": issuer},
        files={"file": (name, content, "application/octet-stream")},
        headers=service.auth("admin"),
    )


NUL_BODIES = {
    "inspection notes": lambda s: post_inspection(
        s, {"notes": "a\x00b"}, [("a.jpg", jpeg_with_time())]
    ),
    "inspection inspector": lambda s: post_inspection(
        s, {"inspector": "Li\x00"}, [("a.jpg", jpeg_with_time())]
    ),
    "review note": lambda s: s.client.patch(
        f"/v1/inspections/{s.first_id}",
        json={"review": {"state": "lookalike", "note": "x\x00y"}},
        headers=s.auth("reviewer"),
    ),
    "key name": lambda s: s.client.post(
        "/v1/keys", json={"role": "admin", "name": "a\x00"}, headers=s.auth("admin")
    ),
    "import issuer": lambda s: _import(s, b"id,lat,lon\nx,20,100\n", "t.csv", issuer="s\x00"),
    "CSV cell": lambda s: _import(s, b"id,lat,lon,name\nx,20,100,a\x00b\n", "t.csv"),
    "GeoJSON property (escaped)": lambda s: _import(s, _geojson({"name": "a\u0000b"}), "t.geojson"),
    "GeoJSON key (escaped)": lambda s: _import(s, _geojson({"k\u0000": 1}), "t.geojson"),
    "GeoJSON id, lone surrogate": lambda s: _import(
        s, _geojson({}).replace(b'"t-1"', b'"t\\ud800"'), "t.geojson"
    ),
}


@pytest.fixture(scope="module")
def nul_service(make_module_service):
    service = make_module_service()
    service.first_id = service.file(photos=[photo("green", seed=42)])["id"]
    return service


@pytest.mark.parametrize("case", list(NUL_BODIES))
def test_a_nul_in_any_text_field_is_a_422_and_changes_nothing(nul_service, case: str) -> None:
    before = counts(nul_service)
    response = NUL_BODIES[case](nul_service)
    assert response.status_code == 422, response.text
    assert "NUL" in response.json()["error"]["message"]
    assert counts(nul_service) == before


def test_a_nul_in_an_upload_file_name_is_dropped_not_stored(nul_service) -> None:
    """The file name is metadata of the evidence, not something the officer typed: a raw NUL
    in it (httpx would escape it; a hand-made client need not) is dropped, the photo kept."""
    boundary = "plantscoutboundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="site_type"\r\n\r\nfarmland\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="photos"; '
            'filename="leaf\x00.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'
        ).encode()
        + jpeg_with_time()
        + f"\r\n--{boundary}--\r\n".encode()
    )
    response = nul_service.client.post(
        "/v1/inspections",
        content=body,
        headers={
            **nul_service.auth("inspector"),
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        },
    )
    assert response.status_code == 201, response.text
    assert response.json()["photos"][0]["filename"] == "leaf.jpg"


# -- JSON and CSV imports -------------------------------------------------------------------

BAD_IMPORTS = {
    "NaN property": (_geojson({"x": 1}).replace(b"1}", b"NaN}"), "t.geojson", "NaN"),
    "Infinity property": (
        _geojson({"x": 1}).replace(b"1}", b"-Infinity}"),
        "t.geojson",
        "Infinity",
    ),
    "100 000 nested arrays": (b"[" * 100_000 + b"]" * 100_000, "t.geojson", "nested"),
    "deep property": (
        _geojson({"x": 1}).replace(b"1}", b"[" * 500 + b"]" * 500 + b"}"),
        "t.geojson",
        "nested",
    ),
    "deep CSV geometry": (
        b'id,geometry\nx,"' + b"[" * 60_000 + b"]" * 60_000 + b'"\n',
        "t.csv",
        "nested",
    ),
    "CSV cell over the field limit": (
        b'id,lat,lon,notes\nx,20,100,"' + b"a" * 200_000 + b'"\n',
        "t.csv",
        "field limit",
    ),
}


@pytest.mark.parametrize("case", list(BAD_IMPORTS))
def test_bad_import_files_are_a_422_and_import_nothing(nul_service, case: str) -> None:
    content, name, mentions = BAD_IMPORTS[case]
    before = counts(nul_service)
    response = _import(nul_service, content, name)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert mentions.lower() in (error["message"] + json.dumps(error["details"])).lower()
    assert counts(nul_service) == before


def test_nan_in_a_json_body_is_a_422(nul_service) -> None:
    response = nul_service.client.patch(
        f"/v1/inspections/{nul_service.first_id}",
        content=b'{"eradication": {"date": "2025-01-02", "plants": 3, "method": "cut", '
        b'"area_m2": NaN}}',
        headers={**nul_service.auth("reviewer"), "Content-Type": "application/json"},
    )
    assert response.status_code == 422, response.text


def test_an_eradication_date_outside_the_stored_range_is_a_422(nul_service) -> None:
    response = nul_service.client.patch(
        f"/v1/inspections/{nul_service.first_id}",
        json={"eradication": {"date": "0001-01-01", "plants": 3, "method": "cut"}},
        headers=nul_service.auth("reviewer"),
    )
    assert response.status_code == 422, response.text


# -- exports never start a 200 they cannot finish ---------------------------------------------


@pytest.mark.parametrize("path", ["/v1/exports/inspections.csv", "/v1/exports/targets.kml"])
def test_an_export_whose_first_query_fails_answers_an_error_not_a_cut_200(
    service, request, path: str
) -> None:
    """The database failing before the first row must give an error status: a 200 followed by
    a file that stops mid-way looks like a (short) export to whoever opens it."""
    service.file(photos=[photo("green", seed=7)])
    engine = service.services.db.engine

    def lost_connection(_conn, _cursor, statement, *_args) -> None:
        if "FROM inspections" in statement or "FROM targets" in statement:
            raise ConnectionError("the database went away")

    event.listen(engine, "before_cursor_execute", lost_connection)
    request.addfinalizer(lambda: event.remove(engine, "before_cursor_execute", lost_connection))
    service.client._transport.raise_server_exceptions = False
    response = service.client.get(path, headers=service.auth("reviewer"))
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("application/json")
