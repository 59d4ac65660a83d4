"""schemathesis against the live service: every operation, every role, as documented.

The real app runs under uvicorn on a local socket (SQLite, the tiny bundle), with a few
inspections and targets filed first so lists and reads return real records. For an admin, a
reviewer and an inspector key, schemathesis generates valid and invalid requests for each
operation of the OpenAPI document (fixed seed: ``derandomize``; a fixed number per operation)
and checks each answer: no 5xx, the status is one the document lists, and the content type
and body match the documented response schema. All failures are collected and reported
together, grouped by operation and check, so the list says what to fix.

~40 operations × 8 cases × 3 roles ≈ 1,000 requests: about a minute on 2 cores.
"""

from __future__ import annotations

import socket
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
import uvicorn
from fuzz_seeds import SEEDS
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from plantscout.serve.app import create_app
from plantscout.serve.keys import mint_key
from plantscout.serve.settings import Settings
from plantscout.serve.vocab import Role

ROLES = ("admin", "reviewer", "inspector")
CASES_PER_OPERATION = 8
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


class LiveService:
    """create_app under uvicorn on 127.0.0.1:<free port>, in a thread of this process."""

    def __init__(self, data_dir: Path, bundle: Path) -> None:
        settings = Settings(
            _env_file=None,
            data_dir=data_dir,
            model_path=bundle,
            model_threads=1,
            worker_threads=8,
            sweep_interval_s=0,
            log_level="WARNING",
        )
        self.app = create_app(settings)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.base_url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        config = uvicorn.Config(self.app, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    def __enter__(self) -> LiveService:
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        with self.app.state.services.db.write() as session:
            self.keys = {
                "admin": mint_key(session, role=Role.ADMIN, name="st-admin", unit=None).key,
                "reviewer": mint_key(session, role=Role.REVIEWER, name="st-rev", unit=None).key,
                "inspector": mint_key(
                    session, role=Role.INSPECTOR, name="st-insp", unit="unit-a"
                ).key,
            }
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)

    def headers(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}"}


def _file_records(live: LiveService) -> None:
    """A few real records, so lists, reads and exports answer with bodies to check."""
    seeds = {s.name: s.data for s in SEEDS["targets"]()}
    with httpx.Client(base_url=live.base_url, timeout=60) as client:
        response = client.post(
            "/v1/targets/import",
            data={"issuer": "survey"},
            files={"file": ("t.geojson", seeds["G-ok"][1:], "application/geo+json")},
            headers=live.headers("admin"),
        )
        assert response.status_code == 200, response.text
        photo = next(s.data for s in SEEDS["intake"]() if s.name == "png")
        for lat in ("22.5", "22.6"):
            response = client.post(
                "/v1/inspections",
                data={"site_type": "farmland", "lat": lat, "lon": "113.9"},
                files={"photos": ("p.png", photo, "image/png")},
                headers=live.headers("inspector"),
            )
            assert response.status_code == 201, response.text


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, tiny_bundle: Path) -> Iterator[LiveService]:
    with LiveService(tmp_path_factory.mktemp("live"), tiny_bundle) as service:
        _file_records(service)
        yield service


def _describe(exc: BaseException, status: int | None) -> list[str]:
    """One line per failed check: what it is, the status, the gist of its message."""
    parts = exc.exceptions if isinstance(exc, BaseExceptionGroup) else (exc,)
    lines = []
    for part in parts:
        title = getattr(part, "title", type(part).__name__)
        message = " ".join(str(getattr(part, "message", part)).split())[:300]
        lines.append(f"{title} [{status}]: {message}")
    return lines


@pytest.mark.parametrize("role", ROLES)
def test_every_operation_answers_as_documented(live: LiveService, role: str) -> None:
    # Fetched here with a generous timeout: from_url's 10 s fail on a loaded CI machine.
    document = httpx.get(f"{live.base_url}/openapi.json", timeout=120).raise_for_status().json()
    schema = schemathesis.openapi.from_dict(document)
    headers = live.headers(role)
    failures: dict[str, list[str]] = defaultdict(list)
    counted = {"cases": 0}

    for result in schema.get_all_operations():
        operation = result.ok()
        strategy = st.one_of(
            operation.as_strategy(GenerationMode.POSITIVE),
            operation.as_strategy(GenerationMode.NEGATIVE),
        )

        @settings(
            max_examples=CASES_PER_OPERATION,
            derandomize=True,  # the same cases on every run
            database=None,
            deadline=None,
            phases=[Phase.generate],  # no shrinking: every failure is collected instead
            suppress_health_check=list(HealthCheck),
        )
        @given(case=strategy)
        def run(case: schemathesis.Case) -> None:
            counted["cases"] += 1
            status = None
            try:
                response = case.call(base_url=live.base_url, headers=headers, timeout=60)
                status = response.status_code
                case.validate_response(response, checks=CHECKS, headers=headers)
            except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - collected, reported
                failures[case.operation.label].extend(_describe(exc, status))

        run()

    assert counted["cases"] >= 100, counted
    if failures:
        report = []
        for label, items in sorted(failures.items()):
            distinct = sorted(set(items))
            report.append(f"{label}: {len(items)} failing case(s)")
            report.extend(f"    {item}" for item in distinct)
        pytest.fail(
            f"{role}: {sum(map(len, failures.values()))} of {counted['cases']} cases failed "
            f"in {len(failures)} operation(s)\n" + "\n".join(report),
            pytrace=False,
        )


def test_the_live_service_is_really_listening(live: LiveService) -> None:
    """Guards the fixture: the cases above go through a socket, not an in-process client."""
    response = httpx.get(f"{live.base_url}/healthz", timeout=10)
    assert response.status_code == 200
