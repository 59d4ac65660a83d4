"""Load test of the inspection service: ``POST /v1/score`` and ``POST /v1/inspections``.

    python benchmarks/load_service.py [--model DIR] [--database-url URL] [--duration S]
                                      [--clients 1,8,32] [--photos N]

Starts a real server (``uvicorn plantscout.serve.app:create_app --factory``) in a separate
process on a fresh data directory, creates an inspector key, then for each endpoint and each
number of concurrent clients keeps that many requests in flight (one asyncio httpx client,
one connection per worker) for ``--duration`` seconds. Reports throughput, latency
percentiles and errors, and the throughput ratio against 1 client measured in the same run.

Photos are real ones from ``../shared/datasets/plants-v1`` (JPEGs of at most 512 px, so this
measures the service's own work more than JPEG decoding), one photo per request, cycled; each
inspection gets a fresh client id. The model is the default release if one is installed,
else the tiny colour-rule test bundle (say which in the results: it is far cheaper to run).
Client and server share the machine's CPUs.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("PLANTSCOUT_SHARED", REPO.parent / "shared"))


@dataclass
class Cell:
    endpoint: str
    clients: int
    latencies: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    elapsed: float = 0.0

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0

    def pct(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] * 1000


def load_photos(n: int) -> list[tuple[str, bytes]]:
    manifest = SHARED / "datasets" / "plants-v1" / "manifest.csv"
    if not manifest.is_file():
        sys.exit(f"{manifest} is missing: the benchmark uploads real photos from ../shared")
    with open(manifest, newline="", encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["kind"] == "photo"]
    step = max(1, len(rows) // n)
    picked = rows[::step][:n]
    return [(Path(r["path"]).name, (manifest.parent / r["path"]).read_bytes()) for r in picked]


def describe(bundle) -> str:
    identity = bundle.identity()
    return f"{identity['name']} {identity['version']}, sha256 {identity['sha256'][:12]}"


def pick_model(requested: str | None, work: Path) -> tuple[str, str]:
    """(bundle path, description)."""
    from plantscout.model import NoDefaultModel, load_bundle

    if requested:
        bundle = load_bundle(requested)
        return str(bundle.path), f"{describe(bundle)} ({requested})"
    try:
        bundle = load_bundle(None)
        return str(bundle.path), f"{describe(bundle)} (default release)"
    except NoDefaultModel:
        from plantscout.model.testing import build_tiny_bundle

        path = build_tiny_bundle(work / "tiny")
        return str(path), "tiny-test colour rule (no default release installed)"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(env: dict[str, str], port: int) -> subprocess.Popen:
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "plantscout.serve.app:create_app",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    process = subprocess.Popen(command, env=env)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit("the server exited during start-up")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return process
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    process.kill()
    sys.exit("the server did not become ready")


async def run_cell(
    url: str, key: str, endpoint: str, clients: int, duration: float, photos
) -> Cell:
    cell = Cell(endpoint, clients)
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    counter = 0
    async with httpx.AsyncClient(
        base_url=url, headers={"X-API-Key": key}, limits=limits, timeout=120
    ) as client:

        async def worker(stop_at: float) -> None:
            nonlocal counter
            while time.perf_counter() < stop_at:
                name, data = photos[counter % len(photos)]
                counter += 1
                files = [("photos", (name, data, "image/jpeg"))]
                started = time.perf_counter()
                try:
                    if endpoint == "/v1/score":
                        response = await client.post(endpoint, files=files)
                    else:
                        form = {"site_type": "farmland", "id": str(uuid.uuid4())}
                        form |= {"lat": "25.0431", "lon": "102.7065"}
                        response = await client.post(endpoint, data=form, files=files)
                    ok = 200 <= response.status_code < 300
                    reason = str(response.status_code)
                except httpx.HTTPError as exc:
                    ok, reason = False, type(exc).__name__
                if ok:
                    cell.latencies.append(time.perf_counter() - started)
                else:
                    cell.errors[reason] = cell.errors.get(reason, 0) + 1

        # Warm-up: one request per worker, not counted.
        await asyncio.gather(*(worker(time.perf_counter()) for _ in range(1)))
        start = time.perf_counter()
        await asyncio.gather(*(worker(start + duration) for _ in range(clients)))
        cell.elapsed = time.perf_counter() - start
    return cell


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="bundle directory")
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temp dir")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per cell")
    parser.add_argument("--clients", default="1,8,32")
    parser.add_argument("--photos", type=int, default=64, help="distinct photos to cycle")
    parser.add_argument("--score-concurrency", type=int, default=None)
    args = parser.parse_args()
    levels = [int(c) for c in args.clients.split(",")]
    load_before = os.getloadavg()[0]

    with tempfile.TemporaryDirectory(prefix="plantscout-load-") as tmp:
        work = Path(tmp)
        bundle, model_text = pick_model(args.model, work)
        env = {
            **os.environ,
            "PLANTSCOUT_DATA_DIR": str(work / "var"),
            "PLANTSCOUT_MODEL_PATH": bundle,
            "PLANTSCOUT_LOG_JSON": "false",
            "PLANTSCOUT_LOG_LEVEL": "WARNING",
        }
        if args.database_url:
            env["PLANTSCOUT_DATABASE_URL"] = args.database_url
        if args.score_concurrency:
            env["PLANTSCOUT_SCORE_CONCURRENCY"] = str(args.score_concurrency)
        os.environ.update({k: v for k, v in env.items() if k.startswith("PLANTSCOUT_")})

        from plantscout.serve.app import open_database
        from plantscout.serve.keys import mint_key
        from plantscout.serve.settings import Settings
        from plantscout.serve.vocab import Role

        settings = Settings(_env_file=None)
        db = open_database(settings)
        with db.write() as session:
            key = mint_key(session, role=Role.INSPECTOR, name="load", unit="load-test").key
        backend = db.backend
        db.dispose()

        photos = load_photos(args.photos)
        port = free_port()
        server = start_server(env, port)
        url = f"http://127.0.0.1:{port}"
        cells: list[Cell] = []
        try:
            for endpoint in ("/v1/score", "/v1/inspections"):
                for clients in levels:
                    cell = asyncio.run(run_cell(url, key, endpoint, clients, args.duration, photos))
                    cells.append(cell)
                    print(f"  {endpoint} × {clients}: {cell.throughput:.1f} req/s", flush=True)
        finally:
            server.terminate()
            server.wait(timeout=60)

    sizes = [len(d) for _, d in photos]
    print()
    print(f"date: {datetime.now(UTC).isoformat(timespec='seconds')}")
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}, load average before {load_before:.1f}"
    )
    print(f"model: {model_text}; database: {backend}; duration {args.duration:g} s per cell")
    print(
        f"photos: {len(photos)} real JPEGs, median {statistics.median(sizes) / 1024:.0f} KiB, "
        "one per request"
    )
    print()
    print(
        "| endpoint | clients | requests | req/s | × vs 1 client | p50 ms | p95 ms | p99 ms | errors |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for cell in cells:
        base = next(c for c in cells if c.endpoint == cell.endpoint and c.clients == levels[0])
        ratio = cell.throughput / base.throughput if base.throughput else float("nan")
        errors = ", ".join(f"{k}: {v}" for k, v in sorted(cell.errors.items())) or "0"
        print(
            f"| `POST {cell.endpoint}` | {cell.clients} | {len(cell.latencies)} | "
            f"{cell.throughput:.1f} | {ratio:.2f} | {cell.pct(0.5):.0f} | {cell.pct(0.95):.0f} | "
            f"{cell.pct(0.99):.0f} | {errors} |"
        )


if __name__ == "__main__":
    main()
