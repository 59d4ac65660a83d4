"""``/v1/scan-jobs``: a laptop without Python uploads a flight and gets the scan outputs."""

from __future__ import annotations

import io
import json
import time

from PIL import Image


def _frame(green: bool, seed: int) -> bytes:
    image = Image.new("RGB", (600, 400), (128, 128, 128))
    if green:
        image.paste((40, 200, 40), (200, 100, 460, 360))
    image.putpixel((seed % 600, 0), (0, 0, 0))  # distinct files, distinct hashes
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def _wait(service, job_id: str, who: str = "inspector") -> dict:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        status = service.client.get(f"/v1/scan-jobs/{job_id}", headers=service.auth(who)).json()
        if status["state"] in ("done", "failed", "cancelled"):
            return status
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish: {status}")


def test_scan_job_end_to_end(service) -> None:
    files = [("frames", (f"f{i}.jpg", _frame(i == 0, i), "image/jpeg")) for i in range(2)]
    response = service.client.post(
        "/v1/scan-jobs", files=files, data={"tile_px": "128"}, headers=service.auth("inspector")
    )
    assert response.status_code == 202, response.text
    job = response.json()
    assert job["frames_total"] == 2 and job["owner"]["unit"] == "unit-a"
    status = _wait(service, job["id"])
    assert status["state"] == "done" and status["frames_done"] == 2
    assert status["summary"]["frames_with_suspected_regions"] == 1
    csv = service.client.get(
        status["links"]["outputs"]["detections.csv"], headers=service.auth("inspector")
    )
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert csv.text.count("\n") >= 2  # header + at least one region
    geojson = service.client.get(
        f"/v1/scan-jobs/{job['id']}/outputs/detections.geojson", headers=service.auth("reviewer")
    )
    assert json.loads(geojson.content)["type"] == "FeatureCollection"
    overlays = service.client.get(
        f"/v1/scan-jobs/{job['id']}/overlays", headers=service.auth("inspector")
    ).json()
    assert len(overlays["items"]) == 2
    png = service.client.get(overlays["items"][0]["url"], headers=service.auth("inspector"))
    assert png.status_code == 200 and png.content[:4] == b"\x89PNG"
    # Another unit cannot see it; no key is a 401.
    other = service.client.get(f"/v1/scan-jobs/{job['id']}", headers=service.auth("inspector_b"))
    assert other.status_code == 404
    assert service.client.get(f"/v1/scan-jobs/{job['id']}").status_code == 401
    assert [
        j["id"]
        for j in service.client.get("/v1/scan-jobs", headers=service.auth("inspector_b")).json()[
            "items"
        ]
    ] == []


def test_held_job_and_bad_requests(service) -> None:
    auth = service.auth("inspector")
    first = service.client.post(
        "/v1/scan-jobs",
        files=[("frames", ("a.jpg", _frame(True, 1), "image/jpeg"))],
        data={"hold": "true"},
        headers=auth,
    )
    assert first.status_code == 202 and first.json()["state"] == "open"
    job_id = first.json()["id"]
    more = service.client.post(
        f"/v1/scan-jobs/{job_id}/frames",
        files=[("frames", ("b.jpg", _frame(False, 2), "image/jpeg"))],
        headers=auth,
    )
    assert more.status_code == 200 and more.json()["frames_total"] == 2
    missing = service.client.get(f"/v1/scan-jobs/{job_id}/outputs/detections.csv", headers=auth)
    assert missing.status_code == 404  # not finished, not started
    assert service.client.post(f"/v1/scan-jobs/{job_id}/start", headers=auth).status_code == 202
    assert _wait(service, job_id)["frames_done"] == 2
    late = service.client.post(
        f"/v1/scan-jobs/{job_id}/frames",
        files=[("frames", ("c.jpg", _frame(False, 3), "image/jpeg"))],
        headers=auth,
    )
    assert late.status_code == 409
    assert service.client.get("/v1/scan-jobs/" + "0" * 32, headers=auth).status_code == 404
    assert service.client.get("/v1/scan-jobs/../../etc", headers=auth).status_code in (404, 422)
    nothing = service.client.post("/v1/scan-jobs", headers=auth)
    assert nothing.status_code in (400, 422)


def test_scan_post_files_records_in_the_real_service(db_url: str, tmp_path, tiny_bundle) -> None:
    """`plantscout scan --post` against the real app on a socket: the form it sends is the
    one ``POST /v1/inspections`` accepts, the computed spot wins, and a re-run files nothing."""
    from serve_conftest_helpers import make_settings
    from test_serve_concurrency import LiveServer

    from plantscout.drone import ScanOptions, scan_frame
    from plantscout.drone.post import post_frame
    from plantscout.drone.synthetic import drone_jpeg
    from plantscout.model import Scorer
    from plantscout.serve.app import create_app
    from plantscout.serve.keys import mint_key
    from plantscout.serve.vocab import Role

    frame = tmp_path / "DJI_0001.JPG"
    frame.write_bytes(drone_jpeg(patches=((560, 160, 840, 440),), gimbal=(-90.0, 0.0, 0.0)))
    result = scan_frame(
        frame, Scorer(tiny_bundle, intra_op_threads=1), ScanOptions(model_gsd_m=0.125)
    )
    assert result.verdict == "suspected" and result.suspected[0].ground
    app = create_app(make_settings(db_url, tmp_path, tiny_bundle))
    with LiveServer(app) as live:
        with app.state.services.db.write() as session:
            key = mint_key(session, role=Role.INSPECTOR, name="drone", unit="unit-d").key
        first = post_frame(result, frame, live.url, key, site_type="farmland")
        assert first.ok and first.created, first
        again = post_frame(result, frame, live.url, key, site_type="farmland")
        assert again.ok and not again.created and again.record_id == first.record_id
        import httpx

        record = httpx.get(
            f"{live.url}/v1/inspections/{first.record_id}", headers={"X-API-Key": key}
        ).json()
    ground = result.suspected[0].ground
    assert record["location"]["source"] == "manual"
    assert abs(record["location"]["lat"] - ground["lat"]) < 1e-6
    assert abs(record["location"]["lon"] - ground["lon"]) < 1e-6
    assert "Drone scan" in record["notes"] and record["site_type"] == "farmland"


def test_parallel_frame_posts_to_a_held_job_lose_nothing(service) -> None:
    """The hardening issue lost 12 acknowledged frames in 6 trials of concurrent posts."""
    from concurrent.futures import ThreadPoolExecutor

    auth = service.auth("inspector")
    job_id = service.client.post(
        "/v1/scan-jobs",
        files=[("frames", ("first.jpg", _frame(False, 0), "image/jpeg"))],
        data={"hold": "true"},
        headers=auth,
    ).json()["id"]

    def post(n: int) -> list[str]:
        names = [f"post{n}-{k}.jpg" for k in range(2)]
        files = [
            ("frames", (name, _frame(False, 10 * n + k + 1), "image/jpeg"))
            for k, name in enumerate(names)
        ]
        response = service.client.post(f"/v1/scan-jobs/{job_id}/frames", files=files, headers=auth)
        assert response.status_code == 200, response.text
        return names

    with ThreadPoolExecutor(8) as pool:
        acknowledged = {"first.jpg"} | {n for names in pool.map(post, range(24)) for n in names}
    status = service.client.get(f"/v1/scan-jobs/{job_id}", headers=auth).json()
    assert status["frames_total"] == len(acknowledged) == 49
    folder = service.settings.data_dir / "scan-jobs" / job_id / "input"
    stored = sorted(p.name for p in folder.iterdir())
    assert {name[6:] for name in stored} == acknowledged
    assert [name[:5] for name in stored] == [f"{i:05d}" for i in range(49)]


def test_settings_that_cut_a_frame_into_too_many_tiles_are_refused(service) -> None:
    """Tiny tiles at 0.8 overlap cost ≈ 30 CPU-s per frame on the one scan worker: such a
    job is refused before it is queued, naming the frame and the tile count."""
    auth = service.auth("inspector")
    jobs_before = service.client.get("/v1/scan-jobs", headers=auth).json()["items"]
    costly = service.client.post(
        "/v1/scan-jobs",
        files=[("frames", ("DJI_0042.JPG", _frame(True, 1), "image/jpeg"))],
        data={"tile_px": "32", "overlap": "0.8"},
        headers=auth,
    )
    assert costly.status_code == 422, costly.text
    error = costly.json()["error"]
    assert "DJI_0042.JPG" in error["message"] and "tiles" in error["message"]
    assert error["details"][0]["tiles"] > service.settings.scan_max_tiles_per_frame
    assert service.client.get("/v1/scan-jobs", headers=auth).json()["items"] == jobs_before

    # A held job with small tiles is fine for a small frame, not for a large one added later.
    held = service.client.post(
        "/v1/scan-jobs",
        files=[("frames", ("small.jpg", _frame(False, 2), "image/jpeg"))],
        data={"tile_px": "32", "overlap": "0", "hold": "true"},
        headers=auth,
    )
    assert held.status_code == 202, held.text
    big = Image.new("RGB", (2400, 2000), (128, 128, 128))
    buffer = io.BytesIO()
    big.save(buffer, "JPEG", quality=80)
    added = service.client.post(
        f"/v1/scan-jobs/{held.json()['id']}/frames",
        files=[("frames", ("big.jpg", buffer.getvalue(), "image/jpeg"))],
        headers=auth,
    )
    assert added.status_code == 422, added.text
    status = service.client.get(f"/v1/scan-jobs/{held.json()['id']}", headers=auth).json()
    assert status["frames_total"] == 1


def test_job_status_and_outputs_name_frames_never_server_paths(service) -> None:
    """Error summaries used to show where the server keeps its files (absolute paths)."""
    auth = service.auth("inspector")
    files = [
        ("frames", ("good.jpg", _frame(True, 7), "image/jpeg")),
        ("frames", ("broken.jpg", b"this is not an image", "image/jpeg")),
    ]
    job = service.client.post("/v1/scan-jobs", files=files, data={"tile_px": "128"}, headers=auth)
    assert job.status_code == 202, job.text
    status = _wait(service, job.json()["id"])
    assert status["state"] == "done"
    errors = status["summary"]["errors"]
    assert [e["file"] for e in errors] == ["00001-broken.jpg"]
    server_dir = str(service.settings.data_dir.resolve())
    texts = [json.dumps(status)]
    for name in ("detections.csv", "summary.json", "summary.txt", "detections.kml"):
        response = service.client.get(status["links"]["outputs"][name], headers=auth)
        texts.append(response.text)
    assert all(
        server_dir not in text
        and "/scan-jobs/" not in text.replace(f"/v1/scan-jobs/{job.json()['id']}", "")
        for text in texts
    )
