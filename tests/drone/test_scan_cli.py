"""``plantscout scan``: folders in, flight outputs out, resumable, and idempotent posting."""

from __future__ import annotations

import json
import threading
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from plantscout.cli import cli


@pytest.fixture
def flight(write_frame) -> Path:
    folder = write_frame("flight/a.jpg", patches=((560, 160, 840, 440),)).parent
    write_frame("flight/b.jpg", seed=1)
    write_frame("flight/sub/c.JPG", patches=((0, 0, 300, 300),), seed=2)
    (folder / "notes.txt").write_text("not a frame")
    return folder


def _scan(*args: str) -> object:
    return CliRunner().invoke(cli, ["scan", *args], catch_exceptions=False)


def test_scan_folder_writes_every_output_and_resumes(
    flight: Path, tiny_bundle: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    result = _scan(str(flight), "--out", str(out), "--model", str(tiny_bundle), "-j", "1", "-q")
    assert result.exit_code == 0, result.output
    for name in (
        "detections.csv",
        "detections.geojson",
        "detections.kml",
        "summary.json",
        "summary.txt",
    ):
        assert (out / name).is_file(), name
    summary = json.loads((out / "summary.json").read_text())
    assert summary["frames"] == 3 and summary["frames_resumed"] == 0
    assert summary["verdicts"] == {"suspected": 2, "clear": 1}
    assert len(list((out / "overlays").glob("*.png"))) == 3
    assert len(list((out / "frames").glob("*.json"))) == 3
    # Second run: nothing to do, same outputs.
    before = (out / "detections.csv").read_text()
    again = _scan(str(flight), "--out", str(out), "--model", str(tiny_bundle), "-j", "1", "-q")
    assert again.exit_code == 0
    assert json.loads((out / "summary.json").read_text())["frames_resumed"] == 3
    assert (out / "detections.csv").read_text() == before
    # Changed settings invalidate the stored results.
    third = _scan(
        str(flight), "--out", str(out), "--model", str(tiny_bundle), "-q", "--overlap", "0.5"
    )
    assert json.loads((out / "summary.json").read_text())["frames_resumed"] == 0, third.output


def test_two_worker_processes_give_the_same_answer(
    flight: Path, tiny_bundle: Path, tmp_path: Path
) -> None:
    # Worth its ~3 s: the spawn-based pool is what a laptop runs; it must match one process.
    one, two = tmp_path / "one", tmp_path / "two"
    assert (
        _scan(str(flight), "-o", str(one), "-m", str(tiny_bundle), "-j", "1", "-q").exit_code == 0
    )
    assert (
        _scan(str(flight), "-o", str(two), "-m", str(tiny_bundle), "-j", "2", "-q").exit_code == 0
    )
    assert (one / "detections.csv").read_text() == (two / "detections.csv").read_text()


def test_unreadable_frame_exits_nonzero_but_writes_outputs(
    flight: Path, tiny_bundle: Path, tmp_path: Path
) -> None:
    (flight / "broken.jpg").write_bytes(b"\xff\xd8 definitely not a jpeg")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli, ["scan", str(flight), "-o", str(out), "-m", str(tiny_bundle), "-q"]
    )
    assert result.exit_code == 1
    summary = json.loads((out / "summary.json").read_text())
    assert len(summary["errors"]) == 1 and summary["frames"] == 4


class _FakeService(BaseHTTPRequestHandler):
    filed: dict[str, dict] = {}
    requests: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers["Content-Length"])
        body = self.rfile.read(length)
        if self.headers.get("X-API-Key") != "psk_test":
            self.send_response(401)
            self.end_headers()
            return
        message = BytesParser(policy=HTTP).parsebytes(
            b"Content-Type: " + self.headers["Content-Type"].encode() + b"\r\n\r\n" + body
        )
        fields, photos = {}, []
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if part.get_filename():
                photos.append((part.get_filename(), len(part.get_payload(decode=True))))
            else:
                fields[name] = part.get_content()
        self.requests.append({"path": self.path, "fields": fields, "photos": photos})
        created = fields["id"] not in self.filed
        self.filed.setdefault(fields["id"], fields)
        self.send_response(201 if created else 200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(json.dumps({"id": fields["id"]}).encode())

    def log_message(self, *args: object) -> None:
        pass


def test_post_files_suspected_frames_idempotently(
    flight: Path, tiny_bundle: Path, tmp_path: Path
) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeService)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        out = tmp_path / "out"
        args = [
            "scan",
            str(flight),
            "-o",
            str(out),
            "-m",
            str(tiny_bundle),
            "-q",
            "--post",
            url,
            "--key",
            "psk_test",
            "--site-type",
            "farmland",
        ]
        first = CliRunner().invoke(cli, args)
        assert first.exit_code == 0, first.output
        assert first.output.count("filed as") == 2
        second = CliRunner().invoke(cli, args)
        assert second.exit_code == 0 and second.output.count("already filed") == 2
        assert len(_FakeService.filed) == 2  # the re-run filed nothing new
        request = _FakeService.requests[0]
        assert request["path"] == "/v1/inspections"
        fields = request["fields"]
        assert fields["site_type"] == "farmland" and "cannabis alert" in fields["notes"]
        assert request["photos"][0][1] > 1000  # the original frame travels as evidence
        located = [r["fields"] for r in _FakeService.requests if "lat" in r["fields"]]
        assert located and all(f["location_source"] == "manual" for f in located)
        bad = CliRunner().invoke(cli, [*args[:-4], "--key", "wrong"])
        assert bad.exit_code != 0 and "not filed (401)" in bad.output
    finally:
        server.shutdown()


def test_post_needs_a_key(flight: Path, tiny_bundle: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli,
        ["scan", str(flight), "-o", str(tmp_path), "--post", "http://x"],
        env={"PLANTSCOUT_API_KEY": ""},
    )
    assert result.exit_code == 2 and "--key" in result.output


def test_a_frame_that_crashes_the_scanner_does_not_stop_the_flight(
    flight: Path, tiny_bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from plantscout.drone import runner

    real = runner.scan_frame

    def flaky(path, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003
        if Path(path).name == "b.jpg":
            raise RuntimeError("simulated decoder crash")
        return real(path, *args, **kwargs)

    monkeypatch.setattr(runner, "scan_frame", flaky)
    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli, ["scan", str(flight), "-o", str(out), "-m", str(tiny_bundle), "-j", "1", "-q"]
    )
    assert result.exit_code == 1
    summary = json.loads((out / "summary.json").read_text())
    assert summary["frames"] == 3 and summary["errors"][0]["code"] == "scan_failed"
    assert summary["frames_with_suspected_regions"] == 2
