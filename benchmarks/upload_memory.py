"""Peak server memory while N clients upload N maximal inspections at once.

    python benchmarks/upload_memory.py [--clients 1,8,32] [--photos 10] [--photo-mb 2]
                                       [--inflight-mb N] [--model DIR] [--python PATH]

For each client count, starts a fresh server (``uvicorn plantscout.serve.app:create_app
--factory``, SQLite in a temporary directory, the tiny colour-rule bundle unless ``--model``)
with ``max_photo_bytes`` set to the photo size, warms it with one upload, records its resident
memory (``VmRSS``), then lets N clients each POST one ``/v1/inspections`` with ``--photos``
noise JPEGs of just under ``--photo-mb`` MB at the same moment, and reads the server's peak
resident memory (``VmHWM``). Reports the peak growth per cell, the statuses, and two ratios
measured in the same run: the growth against the 1-client cell, and the growth against the
bytes the clients had in flight (1.0: the server held every uploaded byte in memory at once).

``--inflight-mb``: the server's ``max_inflight_upload_bytes`` (default: room for every
client, so every upload is admitted and the memory its handling costs is measured; pass the
production default, 2048, to see the budget refuse the excess with 503).
``--python``: the interpreter that runs the server (e.g. another checkout's venv, to measure a
baseline commit the same way).
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import httpx
from PIL import Image


def noise_jpeg(target_bytes: int, seed: int) -> bytes:
    """A JPEG of noise (it does not compress) just under ``target_bytes``."""
    side = int((target_bytes / 1.1) ** 0.5)
    while True:
        image = Image.effect_noise((side, side), 90 + seed).convert("RGB")
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=95)
        if len(buffer.getvalue()) <= target_bytes:
            return buffer.getvalue()
        side = int(side * 0.97)


def server_rss(pid: int) -> dict[str, int]:
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            values[name] = int(rest.split()[0])
    return values


def mint_key(python: str, env: dict[str, str]) -> str:
    code = (
        "from plantscout.serve.app import open_database\n"
        "from plantscout.serve.keys import mint_key\n"
        "from plantscout.serve.settings import Settings\n"
        "from plantscout.serve.vocab import Role\n"
        "db = open_database(Settings(_env_file=None))\n"
        "with db.write() as s:\n"
        "    print(mint_key(s, role=Role.INSPECTOR, name='mem', unit='mem').key)\n"
        "db.dispose()\n"
    )
    out = subprocess.run([python, "-c", code], env=env, capture_output=True, text=True)
    if out.returncode:
        sys.exit(out.stderr)
    return out.stdout.strip().splitlines()[-1]


def run_cell(python, bundle, work, clients, photos, photo_bytes, inflight) -> dict:
    data = work / f"var-{clients}"
    env = {
        **os.environ,
        "PLANTSCOUT_DATA_DIR": str(data),
        "PLANTSCOUT_MODEL_PATH": str(bundle),
        "PLANTSCOUT_MODEL_THREADS": "1",
        "PLANTSCOUT_MAX_PHOTOS": str(len(photos)),
        "PLANTSCOUT_MAX_PHOTO_BYTES": str(photo_bytes),
        "PLANTSCOUT_MAX_INFLIGHT_UPLOAD_BYTES": str(inflight),
        "PLANTSCOUT_SWEEP_INTERVAL_S": "0",
        "PLANTSCOUT_MODEL_WATCH_S": "0",
        "PLANTSCOUT_LOG_LEVEL": "WARNING",
    }
    key = mint_key(python, env)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    command = [python, "-m", "uvicorn", "--factory", "plantscout.serve.app:create_app"]
    command += ["--fd", str(sock.fileno()), "--log-level", "warning", "--no-access-log"]
    server = subprocess.Popen(command, env=env, cwd=work, pass_fds=(sock.fileno(),))
    headers = {"Authorization": f"Bearer {key}"}
    files = [("photos", (f"p{i}.jpg", p, "image/jpeg")) for i, p in enumerate(photos)]
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                sys.exit("the server did not start")
            time.sleep(0.2)
        warm = httpx.post(
            f"{url}/v1/inspections",
            data={"site_type": "farmland"},
            files=files,
            headers=headers,
            timeout=600,
        )
        assert warm.status_code == 201, warm.text
        time.sleep(1)  # the warm-up's budget reservation is returned as its request ends
        before = server_rss(server.pid)
        statuses: Counter[int] = Counter()
        go = threading.Barrier(clients)

        def client() -> None:
            go.wait()
            try:
                response = httpx.post(
                    f"{url}/v1/inspections",
                    data={"site_type": "farmland", "id": str(uuid.uuid4())},
                    files=files,
                    headers=headers,
                    timeout=900,
                )
                statuses[response.status_code] += 1
            except httpx.HTTPError as exc:
                statuses[type(exc).__name__] += 1  # type: ignore[index]

        started = time.monotonic()
        threads = [threading.Thread(target=client) for _ in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
        after = server_rss(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=60)
        sock.close()
    return {
        "clients": clients,
        "rss_before_mib": before["VmRSS"] / 1024,
        "peak_mib": after["VmHWM"] / 1024,
        "growth_mib": (after["VmHWM"] - before["VmRSS"]) / 1024,
        "statuses": dict(statuses),
        "seconds": elapsed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", default="1,8,32")
    parser.add_argument("--photos", type=int, default=10)
    parser.add_argument("--photo-mb", type=float, default=2.0)
    parser.add_argument("--inflight-mb", type=float, default=None)
    parser.add_argument("--model", default=None)
    parser.add_argument("--python", default=sys.executable)
    args = parser.parse_args()
    levels = [int(c) for c in args.clients.split(",")]
    photo_bytes = int(args.photo_mb * 1_000_000)
    photos = [noise_jpeg(photo_bytes, seed) for seed in range(args.photos)]
    request_bytes = sum(len(p) for p in photos) + 1024 * 1024
    with tempfile.TemporaryDirectory(prefix="plantscout-mem-") as tmp:
        work = Path(tmp)
        if args.model:
            bundle, model = Path(args.model), args.model
        else:
            from plantscout.model.testing import build_tiny_bundle

            bundle, model = build_tiny_bundle(work / "tiny"), "tiny-test colour rule"
        cells = []
        for clients in levels:
            inflight = (
                int(args.inflight_mb * 1024 * 1024)
                if args.inflight_mb
                else max(clients, 1) * (args.photos * photo_bytes + 2 * 1024 * 1024)
            )
            cells.append(
                run_cell(args.python, bundle, work, clients, photos, photo_bytes, inflight)
            )
    print(f"# upload memory, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(
        f"# machine: {platform.node()} ({os.cpu_count()} CPUs), Python {platform.python_version()}"
    )
    print(f"# server: {args.python}; model: {model}")
    print(
        f"# each client: one POST /v1/inspections with {args.photos} noise JPEGs "
        f"(largest {max(len(p) for p in photos):,} B; request {request_bytes / 2**20:.1f} MiB)"
    )
    print(
        "| clients | RSS before (MiB) | peak RSS (MiB) | peak growth (MiB) | × 1 client "
        "| ÷ bytes in flight | statuses | s |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    base = next((c["growth_mib"] for c in cells if c["clients"] == 1), None)
    for cell in cells:
        ratio = f"{cell['growth_mib'] / base:.1f}" if base else "—"
        flight = cell["growth_mib"] / (cell["clients"] * request_bytes / 2**20)
        print(
            f"| {cell['clients']} | {cell['rss_before_mib']:.0f} | {cell['peak_mib']:.0f} | "
            f"{cell['growth_mib']:.0f} | {ratio} | {flight:.2f} | {cell['statuses']} | "
            f"{cell['seconds']:.1f} |"
        )


if __name__ == "__main__":
    main()
