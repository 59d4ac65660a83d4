"""The public surface (issue 15): the check, tip-offs and their status, on SQLite and PostgreSQL.

Everything goes through the real app over its HTTP interface with the tiny colour-rule bundle
(green → cannabis alert, red → poppy-family flower → opium-poppy review, grey → no plant,
blue → other plant), so what the page is told can be checked exactly.
"""

from __future__ import annotations

import io
import re
import uuid

import pytest
from PIL import Image
from serve_images import photo
from sqlalchemy import select

from plantscout.serve.models import AuditEvent
from plantscout.serve.models_tips import Tip, TipPhoto

# Words that would claim a certainty the check never has.
CERTAIN = re.compile(
    r"definitely|certainly|for sure|confirmed as|一定是|肯定是|确定是|确认是", re.I
)


# Rate limits are tested on their own (test_tips_limits.py); here they stay out of the way.
LOOSE = {
    "public_limit_check": "1000/minute",
    "public_limit_tip": "1000/minute",
    "public_limit_read": "1000/minute",
    "public_limit_global": "10000/minute",
    "public_limit_global_check": "1000/minute",
}


@pytest.fixture
def service(make_service):
    return make_service(**LOOSE)


def check(service, *colours: str, seed: int = 0):
    files = [
        ("photos", (f"p{i}.png", photo(c, seed=seed + i), "image/png"))
        for i, c in enumerate(colours)
    ]
    return service.client.post("/v1/public/check", files=files)


def send_tip(service, photos=(), expect: int | None = 201, **fields):
    files = [("photos", (f"t{i}.png", p, "image/png")) for i, p in enumerate(photos)]
    data = {k: str(v) for k, v in fields.items()}
    response = service.client.post("/v1/public/tips", data=data, files=files or None)
    if expect is not None:
        assert response.status_code == expect, response.text
    return response


def strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return []


def tips_in_db(service) -> list[Tip]:
    with service.services.db.read() as session:
        return list(session.scalars(select(Tip).order_by(Tip.seq)))


def test_check_says_may_be_or_unlikely_or_retake_and_keeps_nothing(service) -> None:
    answers = {c: check(service, c, seed=i) for i, c in enumerate(["green", "red", "grey", "blue"])}
    assert {c: r.status_code for c, r in answers.items()} == dict.fromkeys(answers, 200)
    body = {c: r.json() for c, r in answers.items()}

    assert body["green"]["outcome"] == "report"
    assert [s["key"] for s in body["green"]["species"]] == ["cannabis"]
    assert any("掌状复叶" in m["zh"] for m in body["green"]["field_marks"])
    assert [look["key"] for look in body["green"]["lookalikes"]] == ["cannabis_lookalike"]

    # "may be a poppy" only where the score raises opium poppy (a poppy-family flower: review)
    assert body["red"]["outcome"] == "report"
    assert [(s["key"], s["level"]) for s in body["red"]["species"]] == [("opium_poppy", "review")]
    for colour in ("green", "grey", "blue"):
        assert "opium_poppy" not in [s["key"] for s in body[colour]["species"]]

    assert body["grey"]["outcome"] == "retake"
    assert body["grey"]["retake_reasons"][0]["zh"].startswith("照片中未发现植物")

    # "does not look like a drug plant" says it cannot rule opium poppy out, with its marks
    assert body["blue"]["outcome"] == "unlikely" and body["blue"]["species"] == []
    assert any("罂粟" in c["zh"] and "poppy" in c["en"] for c in body["blue"]["caveats"])
    assert any("蒴果" in m["zh"] for m in body["blue"]["field_marks"])

    for answer in body.values():
        assert answer["model"]["name"] == "tiny-test"
        assert not [s for s in strings(answer) if CERTAIN.search(s)]
    # scored and discarded: no file, no row
    assert list(service.services.store.iter_files()) == []
    assert tips_in_db(service) == []


def test_a_tip_is_received_once_per_id_and_its_status_needs_code_and_secret(service) -> None:
    tip_id = str(uuid.uuid4())
    leaf = photo("green", seed=11)
    fields = dict(
        id=tip_id,
        secret="abcd-efgh-jkmn",  # typed by hand: normalised to ABCDEFGHJKMN
        lat=25.01,
        lon=102.70,
        accuracy_m=12,
        place="村口小卖部后面的菜地",
        description="十几株，叶子像手掌",
        contact="微信 abc",
    )
    first = send_tip(service, [leaf], **fields).json()
    assert first["secret"] is None  # the phone made it; never echoed
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{8}", first["code"])
    again = send_tip(service, [leaf], expect=200, **fields).json()  # the answer was lost
    assert again["code"] == first["code"] and again["id"] == tip_id
    other = send_tip(service, [photo("green", seed=12)], expect=409, **fields)
    assert other.json()["error"]["code"] == "conflict"
    stranger = send_tip(service, [leaf], expect=409, **{**fields, "secret": "ZZZZ-ZZZZ-ZZZZ"})
    assert stranger.status_code == 409
    [row] = tips_in_db(service)
    assert row.verdict == "suspected" and row.photos[0].verdict == "suspected"
    assert "ABCDEFGHJKMN" not in row.secret_hash and row.secret_hash.startswith("scrypt$")
    assert service.services.store.exists(row.photos[0].sha256)

    status = service.client.post(
        "/v1/public/tips/status",
        json={"code": first["code"].lower(), "secret": "ABCD EFGH JKMN"},
    )
    assert status.status_code == 200
    assert status.json() == {
        "code": first["code"],
        "phase": "received",
        "received_on": row.received_at.date().isoformat(),
        "reward": None,
    }
    wrong = service.client.post(
        "/v1/public/tips/status", json={"code": first["code"], "secret": "ABCDEFGHJKMP"}
    )
    unknown = service.client.post(
        "/v1/public/tips/status", json={"code": "00000000", "secret": "ABCDEFGHJKMN"}
    )
    assert wrong.status_code == unknown.status_code == 404
    assert wrong.json() == unknown.json()  # no oracle for valid codes

    # without a secret from the phone, the server makes one and shows it once
    made = send_tip(service, place="河边", description="白色大花").json()
    assert made["secret"] and len(made["secret"]) == 12
    assert (
        service.client.post(
            "/v1/public/tips/status", json={"code": made["code"], "secret": made["secret"]}
        ).json()["phase"]
        == "received"
    )


def test_bad_tips_are_refused_and_change_nothing(make_service) -> None:
    service = make_service(public_max_photos=2, public_max_photo_bytes=20_000, **LOOSE)
    cases = [
        ({"description": "no place"}, [], 422, "say where"),
        ({"place": "somewhere"}, [], 422, "photo or say what"),
        ({"place": "x", "description": "y", "lat": 25}, [], 422, "together"),
        ({"place": "x", "secret": "short"}, [photo("green")], 422, "secret"),
        ({"place": "x"}, [photo("green", seed=i) for i in range(3)], 422, "at most 2"),
        ({"place": "x", "description": "y\x00"}, [], 422, ""),
    ]
    for fields, photos, status, words in cases:
        response = send_tip(service, photos, expect=None, **fields)
        assert response.status_code == status, (fields, response.text)
        assert words in response.json()["error"]["message"]
    big = io.BytesIO()
    Image.effect_noise((400, 400), 80).convert("RGB").save(big, "PNG")
    assert len(big.getvalue()) > 20_000
    too_big = send_tip(service, [big.getvalue()], expect=None, place="x")
    assert too_big.status_code == 413
    not_image = send_tip(service, [b"GIF89a not really"], expect=None, place="x")
    assert not_image.status_code == 422
    # a declared body over the public limit is refused before it is read
    refused = service.client.post(
        "/v1/public/tips",
        content=b"x" * 10,
        headers={"Content-Type": "multipart/form-data; boundary=b", "Content-Length": "99999999"},
    )
    assert refused.status_code == 413
    # and a chunked body (no declared length) is counted as it streams in
    streamed = service.client.post(
        "/v1/public/check",
        content=(b"x" * 65536 for _ in range(20)),
        headers={"Content-Type": "multipart/form-data; boundary=b"},
    )
    assert streamed.status_code == 413
    assert tips_in_db(service) == []
    assert list(service.services.store.iter_files()) == []


def test_the_same_photo_flood_reported_is_one_group_and_one_file(service) -> None:
    flower = photo("red", seed=5)
    codes = [
        send_tip(service, [flower], place=f"report {i}", lat=25.0 + i, lon=100.0).json()["code"]
        for i in range(6)
    ]
    assert len(set(codes)) == 6  # every sender can follow their own tip
    # neighbours reporting the same field with words only: grouped by place and time
    near = [
        send_tip(service, lat=30.0, lon=110.0 + d, description=f"same field {d}").json()["code"]
        for d in (0.0, 0.0005)
    ]
    far = send_tip(service, lat=30.0, lon=110.1, description="another village").json()["code"]
    rows = {t.code: t for t in tips_in_db(service)}
    assert len({rows[c].group_id for c in codes}) == 1
    assert [rows[c].group_reason for c in codes] == [None] + ["photo"] * 5
    assert rows[near[0]].group_id == rows[near[1]].group_id != rows[far].group_id
    assert rows[near[1]].group_reason == "place"
    assert len(list(service.services.store.iter_files())) == 1
    with service.services.db.read() as session:
        assert session.scalar(select(TipPhoto.sha256).distinct()) is not None
        assert len(list(session.scalars(select(TipPhoto)))) == 6

    queue = service.client.get("/v1/tips", headers=service.auth("reviewer")).json()["items"]
    sizes = sorted(group["size"] for group in queue)
    assert sizes == [1, 2, 6]


def test_the_honeypot_gets_a_receipt_and_stores_nothing(service) -> None:
    response = send_tip(
        service, [photo("green", seed=9)], place="x", description="y", website="http://spam"
    )
    assert response.status_code == 201 and response.json()["code"]
    assert tips_in_db(service) == []
    assert list(service.services.store.iter_files()) == []
    status = service.client.post(
        "/v1/public/tips/status",
        json={"code": response.json()["code"], "secret": response.json()["secret"]},
    )
    assert status.status_code == 404
    assert (
        b"plantscout_public_honeypot_total 1.0"
        in service.client.get("/metrics", headers=service.auth("admin")).content
    )


def test_tip_photos_survive_the_orphan_sweep(make_service) -> None:
    service = make_service(orphan_grace_s=0, **LOOSE)
    send_tip(service, [photo("green", seed=21)], place="x")
    from plantscout.serve.app import sweep_orphans

    result = sweep_orphans(service.services)
    assert result.removed == 0 and len(list(service.services.store.iter_files())) == 1


def test_a_public_client_cannot_read_any_record(service) -> None:
    # records of every kind exist
    inspection = service.file()
    targets = service.client.post(
        "/v1/targets/import",
        data={"issuer": "sat"},
        files={"file": ("t.csv", "id,lat,lon,unit\nT-1,25.1,102.1,unit-a\n", "text/csv")},
        headers=service.auth("admin"),
    ).json()
    secret_a, secret_b = "AAAABBBBCCCC", "DDDDEEEEFFFF"
    tip_a = send_tip(
        service, [photo("green", seed=31)], secret=secret_a, place="A place", lat=25.2, lon=102.2
    ).json()
    tip_b = send_tip(
        service,
        [photo("red", seed=32)],
        secret=secret_b,
        place="B 的秘密地点",
        description="B saw it",
        contact="B 13800000000",
        lat=26.2,
        lon=103.2,
    ).json()
    secrets_of_others = [
        inspection["id"],
        targets["ids"][0],
        "unit-a",
        "unit-b",
        tip_b["id"],
        tip_b["code"],
        "B 的秘密地点",
        "B saw it",
        "13800000000",
    ]

    # every route that is not public answers 401 without a key, whatever the method
    public = re.compile(
        r"^/(v1/public/|check|learn|healthz|readyz|metrics|docs|redoc|openapi|v1/taxonomy)"
    )
    checked = 0
    for path, operations in service.client.get("/openapi.json").json()["paths"].items():
        if not path.startswith("/v1/") or public.match(path):
            continue
        url = re.sub(r"\{[^}]+\}", lambda m: "0" if "position" in m[0] else inspection["id"], path)
        for method in operations:
            response = service.client.request(method.upper(), url)
            assert response.status_code == 401, (method, url, response.status_code)
            checked += 1
    assert checked >= 25

    # tip photos are for reviewers only
    with service.services.db.read() as session:
        tip_b_id = session.scalar(select(Tip.id).where(Tip.code == tip_b["code"]))
    assert service.client.get(f"/v1/tips/{tip_b_id}/photos/0").status_code == 401
    assert (
        service.client.get(
            f"/v1/tips/{tip_b_id}/photos/0", headers=service.auth("inspector")
        ).status_code
        == 403
    )

    # what the public endpoints answer holds nothing of anyone else's records
    answers = [
        service.client.post(
            "/v1/public/tips/status", json={"code": tip_a["code"], "secret": secret_a}
        ),
        service.client.post(
            "/v1/public/tips/status", json={"code": tip_b["code"], "secret": secret_a}
        ),
        check(service, "green", seed=40),
        service.client.get("/v1/public/learn"),
        service.client.get("/check"),
        service.client.get("/learn"),
    ]
    assert [a.status_code for a in answers] == [200, 404, 200, 200, 200, 200]
    for answer in answers:
        for value in secrets_of_others:
            assert value not in answer.text, (answer.request.url, value)
    assert set(answers[0].json()) == {"code", "phase", "received_on", "reward"}


def test_nothing_public_when_switched_off(make_service) -> None:
    service = make_service(public_enabled=False, **LOOSE)
    requests = [
        ("POST", "/v1/public/check", {"files": [("photos", ("a.png", photo(), "image/png"))]}),
        ("POST", "/v1/public/tips", {"data": {"place": "x", "description": "y"}}),
        ("POST", "/v1/public/tips/status", {"json": {"code": "AAAAAAAA", "secret": "x" * 12}}),
        ("GET", "/v1/public/learn", {}),
        ("GET", "/v1/public/poster.png", {}),
        ("GET", "/check", {}),
        ("GET", "/check.html", {}),
        ("GET", "/learn", {}),
        ("GET", "/learn.html", {}),
    ]
    for method, url, kwargs in requests:
        response = service.client.request(method, url, **kwargs)
        assert response.status_code == 404, (url, response.text)
    assert tips_in_db(service) == []
    # the field page and the reviewers' queue are not affected
    assert service.client.get("/").status_code == 200
    assert service.client.get("/v1/tips", headers=service.auth("reviewer")).status_code == 200


def test_tips_and_their_triage_are_audited_without_an_address(service, caplog) -> None:
    caplog.set_level("INFO", logger="plantscout.serve.access")
    send_tip(service, [photo("green", seed=50)], place="x", lat=25.0, lon=102.0)
    check(service, "blue", seed=51)
    service.client.get("/check")
    # officers are logged as before
    service.client.get("/v1/tips", headers=service.auth("reviewer"))
    host = "testclient"
    lines = [
        r for r in caplog.records if getattr(r, "path", "").startswith(("/v1/public", "/check"))
    ]
    assert len(lines) == 3 and all(getattr(r, "client", None) is None for r in lines)
    keyed = [r for r in caplog.records if getattr(r, "path", "") == "/v1/tips"]
    assert len(keyed) == 1 and keyed[0].client == host
    with service.services.db.read() as session:
        stored = [str(vars(t)) for t in session.scalars(select(Tip))]
        stored += [str(e.changes) for e in session.scalars(select(AuditEvent))]
    assert stored and not [s for s in stored if host in s or "127.0.0.1" in s]
