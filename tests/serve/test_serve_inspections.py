"""Filing, reading, listing and reviewing inspections over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

from serve_images import photo


def test_filing_scores_every_photo_and_keeps_the_bundle_identity(service, tiny_bundle) -> None:
    record = service.file(
        photos=[photo("red", seed=1), photo("green", seed=2), photo("grey", seed=3)],
        notes="behind the school",
    )
    assert [p["verdict"] for p in record["photos"]] == ["review", "suspected", "unusable"]
    assert record["verdict"] == "suspected"  # the strongest usable photo decides
    assert record["combined"]["usable"] == 2
    assert record["model"]["name"] == "tiny-test"
    assert len(record["model"]["sha256"]) == 64
    assert record["photos"][1]["score"]["model"] == record["model"]
    assert record["unit"] == "unit-a" and record["inspector"] == "inspector"
    assert record["review"]["state"] == "pending"
    assert record["audit"][0]["action"] == "created"
    assert record["location"]["source"] == "none"


def test_photo_download_returns_the_original_bytes(service) -> None:
    original = photo("green", seed=11, fmt="JPEG", gps=(25.04, 102.7))
    record = service.file(photos=[original])
    url = record["photos"][0]["url"]
    response = service.client.get(url, headers=service.auth("inspector"))
    assert response.status_code == 200
    assert response.content == original  # byte for byte, EXIF included
    assert response.headers["content-type"] == "image/jpeg"
    missing = service.client.get(url[:-1] + "5", headers=service.auth("inspector"))
    assert missing.status_code == 404


def test_photo_gps_wins_over_device_gps_and_disagreement_is_flagged(service) -> None:
    near = service.file(
        photos=[photo("green", seed=21, fmt="JPEG", gps=(25.0431, 102.7065))],
        lat=25.0432,
        lon=102.7066,
        accuracy_m=5,
    )
    location = near["location"]
    assert location["source"] == "photo"
    assert abs(location["lat"] - 25.0431) < 1e-5
    assert location["device"]["accuracy_m"] == 5
    assert 0 < location["disagreement_m"] < 20 and location["conflict"] is False

    far = service.file(
        photos=[photo("green", seed=22, fmt="JPEG", gps=(25.0431, 102.7065))],
        lat=25.0531,  # ~1.1 km north
        lon=102.7065,
    )
    assert far["location"]["conflict"] is True
    assert 1000 < far["location"]["disagreement_m"] < 1200

    manual = service.file(
        photos=[photo("green", seed=23, fmt="JPEG", gps=(25.0431, 102.7065))],
        lat=25.1,
        lon=102.8,
        location_source="manual",
    )
    assert manual["location"]["source"] == "manual"
    assert manual["location"]["lat"] == 25.1


def test_drone_frame_exif_gps_and_capture_time_are_read(service, drone_fixtures: Path) -> None:
    frame = (drone_fixtures / "hemp_dji_mini3_DJI_0687.JPG").read_bytes()
    record = service.file(photos=[frame])
    location = record["location"]
    assert location["source"] == "photo"
    assert abs(location["lat"] - 40.082808) < 1e-6
    assert abs(location["lon"] - -88.2127955277778) < 1e-6
    assert record["photos"][0]["gps"]["altitude_m"] == 174.91
    # Camera clock without an offset, read in the configured zone (UTC here).
    assert record["observed_at_source"] == "photo"
    assert record["observed_at"].startswith("2024-08-13T06:12:34")
    assert record["photos"][0]["width"] == 4000


def test_client_observed_time_wins(service) -> None:
    record = service.file(
        photos=[photo("green", seed=31, fmt="JPEG", taken=datetime(2025, 5, 1, 9, 0))],
        observed_at="2025-05-02T10:00:00+08:00",
    )
    assert record["observed_at_source"] == "client"
    assert datetime.fromisoformat(record["observed_at"]) == datetime(2025, 5, 2, 2, 0, tzinfo=UTC)
    assert record["captured_at"].startswith("2025-05-01T09:00:00")


def test_client_id_makes_filing_idempotent(service) -> None:
    record_id = str(uuid.uuid4())
    photos = [photo("green", seed=41), photo("red", seed=42)]
    first = service.file(photos=photos, id=record_id, expect=201)
    again = service.file(photos=photos, id=record_id, expect=200)
    assert again["id"] == first["id"] == record_id
    assert again["received_at"] == first["received_at"]
    other = service.file(photos=[photo("green", seed=43)], id=record_id, expect=409)
    assert other["error"]["code"] == "conflict"
    listed = service.client.get("/v1/inspections", headers=service.auth("reviewer")).json()
    assert [i["id"] for i in listed["items"]] == [record_id]


def test_idempotency_key_header_is_accepted(service) -> None:
    photos = [photo("green", seed=51)]
    files = [("photos", ("a.png", photos[0], "image/png"))]
    headers = {**service.auth("inspector"), "Idempotency-Key": "phone-7/queue-item-19"}
    first = service.client.post(
        "/v1/inspections", data={"site_type": "courtyard"}, files=files, headers=headers
    )
    second = service.client.post(
        "/v1/inspections", data={"site_type": "courtyard"}, files=files, headers=headers
    )
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]


def test_list_filters_and_cursor_pagination(service) -> None:
    made = []
    for i in range(7):
        colour = ["green", "red", "blue"][i % 3]
        made.append(
            service.file(
                who="inspector" if i < 5 else "inspector_b",
                photos=[photo(colour, seed=100 + i)],
                lat=25.0 + i * 0.01,
                lon=102.0 + i * 0.01,
                observed_at=f"2025-06-0{i + 1}T12:00:00+00:00",
            )
        )
    headers = service.auth("reviewer")

    def ids(**params) -> list[str]:
        out, cursor = [], None
        while True:
            query = {**params, "limit": 2, **({"cursor": cursor} if cursor else {})}
            page = service.client.get("/v1/inspections", params=query, headers=headers)
            assert page.status_code == 200, page.text
            body = page.json()
            assert len(body["items"]) <= 2
            out.extend(i["id"] for i in body["items"])
            cursor = body["next_cursor"]
            if not cursor:
                return out

    everything = ids()
    assert everything == [m["id"] for m in reversed(made)]  # newest first, no repeats
    assert set(ids(unit="unit-b")) == {made[5]["id"], made[6]["id"]}
    assert set(ids(verdict="suspected")) == {made[0]["id"], made[3]["id"], made[6]["id"]}
    assert set(ids(verdict=["review", "clear"])) == {m["id"] for m in made} - set(
        ids(verdict="suspected")
    )
    assert set(ids(since="2025-06-02", until="2025-06-03")) == {made[1]["id"], made[2]["id"]}
    assert set(ids(bbox="102.015,25.015,102.035,25.035")) == {made[2]["id"], made[3]["id"]}
    assert ids(review_state="confirmed_cannabis") == []

    # Inspectors see their own unit only, and asking for another is refused.
    own = service.client.get("/v1/inspections", headers=service.auth("inspector_b")).json()
    assert {i["unit"] for i in own["items"]} == {"unit-b"}
    refused = service.client.get(
        "/v1/inspections", params={"unit": "unit-a"}, headers=service.auth("inspector_b")
    )
    assert refused.status_code == 403
    hidden = service.client.get(
        f"/v1/inspections/{made[0]['id']}", headers=service.auth("inspector_b")
    )
    assert hidden.status_code == 404


def test_review_and_eradication_are_audited(service) -> None:
    record = service.file(photos=[photo("green", seed=61)])
    url = f"/v1/inspections/{record['id']}"
    reviewer = service.auth("reviewer")
    reviewed = service.client.patch(
        url,
        json={"review": {"state": "confirmed_cannabis", "note": "leaflets serrated, 7 per leaf"}},
        headers={**reviewer, "If-Match": '"1"'},
    )
    assert reviewed.status_code == 200, reviewed.text
    body = reviewed.json()
    assert body["review"]["state"] == "confirmed_cannabis"
    assert body["review"]["label"] == "cannabis"
    assert body["review"]["by"] == "reviewer"
    assert body["version"] == 2 and reviewed.headers["etag"] == '"2"'

    stale = service.client.patch(
        url,
        json={"review": {"state": "lookalike"}},
        headers={**reviewer, "If-Match": '"1"'},
    )
    assert stale.status_code == 412

    eradicated = service.client.patch(
        url,
        json={
            "eradication": {
                "date": "2025-06-10",
                "plants": 37,
                "area_m2": 12.5,
                "method": "uprooted",
            }
        },
        headers=reviewer,
    )
    assert eradicated.status_code == 200, eradicated.text
    body = eradicated.json()
    assert body["eradication"] == {
        "date": "2025-06-10",
        "plants": 37,
        "area_m2": 12.5,
        "method": "uprooted",
        "note": None,
    }
    audit = body["audit"]
    assert [a["action"] for a in audit] == ["created", "updated", "updated"]
    assert audit[1]["changes"]["review_state"] == ["pending", "confirmed_cannabis"]
    assert audit[1]["actor"] == "reviewer" and audit[1]["role"] == "reviewer"
    assert audit[2]["changes"]["eradicated_plants"] == [None, 37]

    # The same change again changes nothing and adds no audit entry.
    same = service.client.patch(
        url,
        json={
            "eradication": {
                "date": "2025-06-10",
                "plants": 37,
                "area_m2": 12.5,
                "method": "uprooted",
            }
        },
        headers=reviewer,
    ).json()
    assert same["version"] == body["version"] and len(same["audit"]) == 3

    # A look-alike cannot carry an eradication.
    conflict = service.client.patch(url, json={"review": {"state": "lookalike"}}, headers=reviewer)
    assert conflict.status_code == 422
    after = service.client.get(url, headers=reviewer).json()
    assert after["review"]["state"] == "confirmed_cannabis" and after["version"] == body["version"]


def test_lookalike_label_is_inferred_from_what_the_model_raised(service) -> None:
    poppy_like = service.file(photos=[photo("red", seed=71)])
    reviewer = service.auth("reviewer")
    body = service.client.patch(
        f"/v1/inspections/{poppy_like['id']}",
        json={"review": {"state": "lookalike", "note": "corn poppy, hairy stem"}},
        headers=reviewer,
    ).json()
    assert body["review"]["label"] == "ornamental_poppy"
    wrong = service.client.patch(
        f"/v1/inspections/{poppy_like['id']}",
        json={"review": {"state": "lookalike", "label": "cannabis"}},
        headers=reviewer,
    )
    assert wrong.status_code == 422


def test_an_idempotency_key_belongs_to_its_unit(service) -> None:
    """Two units' phones both numbering their queue items "queue-item-1" must both file (the
    key used to answer 409 "already used … another unit" to the second: its upload blocked,
    and the other unit's record confirmed)."""
    responses = {}
    for who, seed in (("inspector", 61), ("inspector_b", 62)):
        files = [("photos", ("a.png", photo("green", seed=seed), "image/png"))]
        headers = {**service.auth(who), "Idempotency-Key": "queue-item-1"}
        first = service.client.post(
            "/v1/inspections", data={"site_type": "farmland"}, files=files, headers=headers
        )
        again = service.client.post(
            "/v1/inspections", data={"site_type": "farmland"}, files=files, headers=headers
        )
        assert (first.status_code, again.status_code) == (201, 200), first.text
        assert first.json()["id"] == again.json()["id"]
        responses[who] = first.json()
    assert responses["inspector"]["id"] != responses["inspector_b"]["id"]
    assert {r["unit"] for r in responses.values()} == {"unit-a", "unit-b"}


def test_an_id_in_use_elsewhere_answers_without_naming_units(service) -> None:
    record_id = str(uuid.uuid4())
    service.file(who="inspector", photos=[photo("green", seed=63)], id=record_id)
    other = service.file(
        who="inspector_b", photos=[photo("green", seed=64)], id=record_id, expect=409
    )
    assert "unit" not in other["error"]["message"]
