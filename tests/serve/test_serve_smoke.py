"""Smoke: the app starts on both databases, files and reads an inspection."""

from __future__ import annotations

from serve_images import photo


def test_file_and_read_back(service) -> None:
    created = service.file(
        photos=[photo("green", seed=1), photo("red", seed=2)], lat=30.5, lon=100.25, accuracy_m=8
    )
    assert created["verdict"] == "suspected"
    assert created["location"]["source"] == "device"
    got = service.client.get(f"/v1/inspections/{created['id']}", headers=service.auth("inspector"))
    assert got.status_code == 200, got.text
    assert got.json()["photos"][1]["verdict"] == "review"
    listed = service.client.get("/v1/inspections", headers=service.auth("reviewer")).json()
    assert [i["id"] for i in listed["items"]] == [created["id"]]
    assert service.client.get("/readyz").status_code == 200
