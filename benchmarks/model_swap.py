"""Promote / rollback under load: failed requests, and which bundle each record names.

    python benchmarks/model_swap.py [--bundles A B] [--clients 8] [--swaps 10] [--requests 600]

A real uvicorn server (thread, real socket, SQLite in a temporary folder) serves two
registered bundles; ``--clients`` threads file inspections (one photo each) over HTTP while
an admin client alternates ``POST /v1/models/promote`` and ``/rollback`` ``--swaps`` times,
spread over the run. Afterwards every record is read back and must name the same bundle as
the score stored with its photo. Without ``--bundles`` two tiny colour-rule bundles
(different networks) are used, which measures the swap machinery, not model loading; pass
real bundles to include the ONNX session start-up in the swap time.
"""

from __future__ import annotations

import argparse
import platform
import socket
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import httpx
import uvicorn

from plantscout.model import load_bundle
from plantscout.model.lifecycle.registry import Registry
from plantscout.model.testing import build_tiny_bundle
from plantscout.serve.app import create_app
from plantscout.serve.keys import mint_key
from plantscout.serve.settings import Settings
from plantscout.serve.vocab import Role


class LiveServer:
    def __init__(self, app) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    def __enter__(self) -> LiveServer:
        self.thread.start()
        while not self.server.started:
            if not self.thread.is_alive():
                raise RuntimeError("server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=60)
        self.sock.close()


def photo(seed: int) -> bytes:
    import io

    from PIL import Image

    image = Image.new("RGB", (128, 128), (40, 200, 40))
    image.putpixel((seed % 128, (seed // 128) % 128), (seed % 251, 7, 9))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bundles", nargs=2, type=Path, default=None)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--swaps", type=int, default=10)
    parser.add_argument("--requests", type=int, default=600, help="Inspections in total.")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        if args.bundles:
            first, second = args.bundles
        else:
            first = build_tiny_bundle(tmp / "a", name="swap-bench", version="1")
            second = build_tiny_bundle(tmp / "b", name="swap-bench", version="2", input_size=48)
        registry = Registry(tmp / "var" / "models")
        keys_ = [registry.add(first).key, registry.add(second).key]
        registry.promote(keys_[0])
        settings = Settings(
            _env_file=None,
            data_dir=tmp / "var",
            database_url=f"sqlite:///{tmp / 'bench.db'}",
            model_path=first,
            model_threads=1,
            worker_threads=32,
            sweep_interval_s=0,
        )
        app = create_app(settings)
        with LiveServer(app) as live:
            url = f"http://127.0.0.1:{live.port}"
            with app.state.services.db.write() as session:
                admin = mint_key(session, role=Role.ADMIN, name="bench-admin", unit=None).key
                inspector = mint_key(session, role=Role.INSPECTOR, name="bench", unit="u").key
            lock = threading.Lock()
            results: list[tuple[int, str, float]] = []
            counter = iter(range(args.requests))

            def client() -> None:
                with httpx.Client(
                    base_url=url, headers={"X-API-Key": inspector}, timeout=120
                ) as http:
                    while True:
                        with lock:
                            n = next(counter, None)
                        if n is None:
                            return
                        start = time.perf_counter()
                        try:
                            response = http.post(
                                "/v1/inspections",
                                data={"site_type": "farmland", "id": str(uuid.uuid4())},
                                files=[("photos", (f"{n}.png", photo(n), "image/png"))],
                            )
                            status, ident = response.status_code, response.json().get("id", "")
                        except httpx.HTTPError as exc:
                            status, ident = 0, repr(exc)
                        with lock:
                            results.append((status, ident, time.perf_counter() - start))

            swap_times: list[float] = []

            def admin_client() -> None:
                with httpx.Client(base_url=url, headers={"X-API-Key": admin}, timeout=120) as http:
                    for i in range(args.swaps):
                        target = (i + 1) * args.requests // (args.swaps + 1)
                        while len(results) < target:
                            time.sleep(0.005)
                        start = time.perf_counter()
                        if i % 2 == 0:
                            response = http.post("/v1/models/promote", json={"version": keys_[1]})
                        else:
                            response = http.post("/v1/models/rollback", json={})
                        swap_times.append(time.perf_counter() - start)
                        if response.status_code != 200:
                            raise RuntimeError(f"swap failed: {response.text}")

            threads = [threading.Thread(target=client) for _ in range(args.clients)]
            swapper = threading.Thread(target=admin_client)
            started = time.perf_counter()
            for thread in [*threads, swapper]:
                thread.start()
            for thread in [*threads, swapper]:
                thread.join()
            elapsed = time.perf_counter() - started

            mismatched = 0
            by_bundle: Counter[str] = Counter()
            with httpx.Client(base_url=url, headers={"X-API-Key": admin}, timeout=120) as http:
                for status, ident, _ in results:
                    if status != 201:
                        continue
                    record = http.get(f"/v1/inspections/{ident}").json()
                    if record["photos"][0]["score"]["model"] != record["model"]:
                        mismatched += 1
                    by_bundle[f"{record['model']['name']} {record['model']['version']}"] += 1
        statuses = Counter(s for s, _, _ in results)
        latencies = sorted(d for _, _, d in results)
        names = {load_bundle(b).identity()["sha256"][:12]: str(b) for b in (first, second)}
        print(
            f"date {datetime.now(UTC).isoformat(timespec='seconds')}; machine "
            f"{platform.machine()} {platform.system()} python {platform.python_version()}; "
            f"command: {' '.join(sys.argv)}"
        )
        print(f"bundles: {names}")
        print(
            f"requests {len(results)} from {args.clients} clients in {elapsed:.1f} s; "
            f"statuses {dict(statuses)}; failed {len(results) - statuses.get(201, 0)}"
        )
        print(
            f"swaps {len(swap_times)} (promote/rollback alternating): "
            f"median {statistics.median(swap_times) * 1000:.0f} ms, "
            f"max {max(swap_times) * 1000:.0f} ms"
        )
        print(
            f"records per bundle: {dict(by_bundle)}; records whose photo score names another "
            f"bundle than the record: {mismatched}"
        )
        print(
            f"request latency median {statistics.median(latencies) * 1000:.0f} ms, "
            f"p95 {latencies[int(0.95 * (len(latencies) - 1))] * 1000:.0f} ms, "
            f"max {latencies[-1] * 1000:.0f} ms"
        )
        if len(results) != statuses.get(201, 0) or mismatched:
            sys.exit(1)


if __name__ == "__main__":
    main()
