"""File scanned frames as inspection records through the service API (``POST /v1/inspections``).

Stdlib HTTP only (``model`` must not import the service or a web stack). Each frame gets a
stable record id derived from its file hash, so a re-run, or a retry after a dropped
connection, returns the record already filed instead of a duplicate.
"""

from __future__ import annotations

import json
import mimetypes
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from plantscout.drone.scan import FrameResult

# Fixed namespace: ids must be the same on every machine and every run.
RECORD_NAMESPACE = uuid.UUID("0b8f6c52-7d1e-4f9a-a3c4-5e2d9b7a1c30")
TIMEOUT_S = 120.0


@dataclass(frozen=True)
class Posted:
    file: str
    record_id: str
    status: int  # HTTP status; 0 when the request never got an answer
    created: bool
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.status in (200, 201)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def record_id(result: FrameResult) -> str:
    """One record per frame, whatever model scored it: re-scanning a flight with a newer
    model must not file the same evidence twice (the service answers 200, already filed)."""
    return str(uuid.uuid5(RECORD_NAMESPACE, result.sha256))


def should_post(result: FrameResult, include_review: bool = False) -> bool:
    if result.verdict == "suspected":
        return True
    return include_review and result.verdict == "review"


def inspection_form(result: FrameResult, site_type: str = "other") -> dict[str, str]:
    """The non-file fields of the multipart form."""
    fields = {"id": record_id(result), "site_type": site_type, "notes": notes(result)}
    located = [r for r in result.regions if r.ground]
    if located:
        best = max(located, key=lambda r: (r.level == "alert", r.peak))
        assert best.ground is not None
        fields["lat"] = f"{best.ground['lat']:.7f}"
        fields["lon"] = f"{best.ground['lon']:.7f}"
        fields["accuracy_m"] = f"{best.ground['error_m']:.1f}"
        # The computed spot must win over the photo's GPS, which is where the drone was.
        fields["location_source"] = "manual"
    captured = (result.geotags or {}).get("captured_at")
    if isinstance(captured, str) and ("+" in captured[10:] or captured.endswith("Z")):
        fields["observed_at"] = captured
    return fields


def notes(result: FrameResult) -> str:
    model = result.model
    lines = [
        f"Drone scan ({model.get('name')} {model.get('version')}, {model.get('sha256', '')[:12]}): "
        f"{len(result.regions)} region(s) in {Path(result.file).name}."
    ]
    for number, region in enumerate(result.regions[:20], start=1):
        where = (
            f"ground {region.ground['lat']:.6f},{region.ground['lon']:.6f} "
            f"±{region.ground['error_m']} m"
            if region.ground
            else "not placed on the ground (geometry unreliable: "
            + ",".join(result.geometry.get("flags", []))
            + ")"
        )
        lines.append(
            f"{number}. {region.species} {region.level} peak {region.peak:.2f} "
            f"mean {region.mean:.2f}, {region.tiles} tiles, pixels {tuple(region.box)}, {where}"
        )
    if result.geometry.get("quality") == "approximate":
        lines.append("Location is approximate: " + ", ".join(result.geometry.get("flags", [])))
    return "\n".join(lines)[:4000]


def post_frame(
    result: FrameResult,
    photo: Path,
    url: str,
    key: str,
    *,
    site_type: str = "other",
    timeout: float = TIMEOUT_S,
) -> Posted:
    """POST one frame. Never raises for HTTP or network errors: the answer says what failed."""
    endpoint = url.rstrip("/") + "/v1/inspections"
    fields = inspection_form(result, site_type)
    try:
        body, content_type = _multipart(fields, photo)
    except OSError as exc:
        return Posted(result.file, fields["id"], 0, False, f"cannot read {photo}: {exc}")
    request = urllib.request.Request(
        endpoint,
        data=body,
        method="POST",
        headers={"Content-Type": content_type, "X-API-Key": key, "Accept": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            status = response.status
            data = json.loads(response.read() or b"{}")
        return Posted(result.file, str(data.get("id", fields["id"])), status, status == 201)
    except urllib.error.HTTPError as exc:
        return Posted(result.file, fields["id"], exc.code, False, _reason(exc))
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        return Posted(result.file, fields["id"], 0, False, str(getattr(exc, "reason", exc)))


def _reason(exc: urllib.error.HTTPError) -> str:
    try:
        data = json.loads(exc.read() or b"{}")
    except (ValueError, OSError):
        return str(exc)
    detail = data.get("detail") or data.get("error") or data
    return json.dumps(detail, ensure_ascii=False)[:500]


def _multipart(fields: dict[str, str], photo: Path) -> tuple[bytes, str]:
    boundary = f"plantscout-{uuid.uuid4().hex}"
    parts: list[bytes] = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            + value.encode("utf-8")
            + b"\r\n"
        )
    content_type = mimetypes.guess_type(photo.name)[0] or "application/octet-stream"
    safe_name = photo.name.replace('"', "_").replace("\r", "_").replace("\n", "_")
    parts.append(
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="photos"; '
            f'filename="{safe_name}"\r\nContent-Type: {content_type}\r\n\r\n'
        ).encode()
        + photo.read_bytes()
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"
