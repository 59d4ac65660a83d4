"""Setting up a phone by QR code (issue 13): the admin's API and CLI give a link to the field
page that carries the key in its #fragment, and a QR code that decodes to exactly that link.
(The page opening the link is tested in tests/serve/web/test_field_records.py.)"""

from __future__ import annotations

import base64

import cv2
import numpy as np
from click.testing import CliRunner

from plantscout.cli import cli


def decode_qr(png: bytes) -> str:
    """OpenCV's classic detector misses about 1 code in 20 of these (measured on 200 random
    keys); its ArUco-based one, tried second, read all 200."""
    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_GRAYSCALE)
    for detector in (cv2.QRCodeDetector(), cv2.QRCodeDetectorAruco()):
        for scale in (1, 2):
            scaled = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST)
            text, _points, _ = detector.detectAndDecode(scaled)
            if text:
                return text
    return ""


def test_admin_gets_a_setup_link_and_qr_code_with_the_new_key(service) -> None:
    created = service.client.post(
        "/v1/keys",
        json={
            "role": "inspector",
            "unit": "unit-a",
            "name": "赵警官",
            "setup_url": "https://office.example:8443/",
        },
        headers=service.auth("admin"),
    )
    assert created.status_code == 201, created.text
    body = created.json()
    link = body["setup"]["link"]
    assert link == f"https://office.example:8443/#setup={body['key']}"
    prefix = "data:image/png;base64,"
    assert body["setup"]["qr_png"].startswith(prefix)
    assert decode_qr(base64.b64decode(body["setup"]["qr_png"][len(prefix) :])) == link
    # without a service address, no setup block; a non-http address is refused
    plain = service.client.post(
        "/v1/keys", json={"role": "reviewer", "name": "b"}, headers=service.auth("admin")
    )
    assert plain.status_code == 201 and plain.json()["setup"] is None
    for bad in ("javascript:alert(1)", "ftp://x/", "https://x/#frag", "office:8000"):
        refused = service.client.post(
            "/v1/keys",
            json={"role": "reviewer", "name": "c", "setup_url": bad},
            headers=service.auth("admin"),
        )
        assert refused.status_code == 422, bad
    assert (
        service.client.post(
            "/v1/keys",
            json={"role": "reviewer", "name": "d", "setup_url": "https://x/"},
            headers=service.auth("reviewer"),
        ).status_code
        == 403
    )


def test_cli_prints_the_setup_link_and_writes_or_draws_the_qr_code(db_url, tmp_path) -> None:
    env = {"PLANTSCOUT_DATABASE_URL": db_url, "PLANTSCOUT_DATA_DIR": str(tmp_path / "var")}
    runner = CliRunner()
    assert runner.invoke(cli, ["db", "upgrade"], env=env).exit_code == 0
    out = tmp_path / "setup.png"
    args = [
        "keys",
        "create",
        "--role",
        "inspector",
        "--unit",
        "u1",
        "--url",
        "http://10.0.0.5:8000",
    ]
    written = runner.invoke(cli, [*args, "--qr", str(out)], env=env)
    assert written.exit_code == 0, written.output
    key, link = written.stdout.strip().splitlines()[:2]
    assert link == f"http://10.0.0.5:8000/#setup={key}"
    assert decode_qr(out.read_bytes()) == link
    drawn = runner.invoke(cli, [*args, "--qr", "-"], env=env)
    assert drawn.exit_code == 0, drawn.output
    assert any(block in drawn.stdout for block in "█▀▄")  # the code drawn in the terminal
    refused = runner.invoke(cli, ["keys", "create", "--role", "admin", "--qr", "-"], env=env)
    assert refused.exit_code != 0 and "--url" in refused.output
