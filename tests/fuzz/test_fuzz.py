"""Breaking it stays in CI: every parser an outsider can reach is fuzzed on every run.

Per target (``fuzz_targets.py``), two tests:

- every seed of ``fuzz_seeds.py`` (one per payload kind of the hardening issue) goes through
  the target in-process; the contract must hold, and seeds with a known outcome must have it
  (these are the regression tests of the bugs the fuzzers found). The HTTP forms seeds run
  on SQLite and on PostgreSQL, where NUL characters and NaN used to fail only;
- a short atheris run from those seeds, deterministic (``-seed=1``, a fixed number of runs),
  with per-input time and per-process RSS limits, in a subprocess because libFuzzer owns its
  process. ~1 minute for all four on 2 cores; the long run is in tests/fuzz/README.md.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from fuzz_seeds import SEEDS
from fuzz_targets import TARGETS, FormsApp

FUZZ_MAIN = Path(__file__).with_name("fuzz_main.py")
# Executions per target in CI: a few seconds each at the rates measured on 2 shared cores.
SHORT_RUNS = {"intake": 2000, "geotags": 1500, "targets": 5000, "history": 3000, "forms": 300}


def _run_seeds(target, seeds) -> list[str]:
    failures = []
    for seed in seeds:
        try:
            outcome = target(seed.data)
        except Exception as exc:  # noqa: BLE001 - every escape is a finding to report
            failures.append(f"{seed.name}: {type(exc).__name__}: {str(exc)[:300]}")
            continue
        if seed.expect is not None and outcome != seed.expect:
            failures.append(f"{seed.name}: {outcome}, expected {seed.expect}")
    return failures


@pytest.mark.parametrize("name", ["intake", "geotags", "targets", "history"])
def test_every_seed_keeps_the_parser_contract(name: str) -> None:
    seeds = SEEDS[name]()
    assert len(seeds) >= 20
    failures = _run_seeds(TARGETS[name], seeds)
    assert not failures, "\n".join(failures)


@pytest.fixture(params=["sqlite", "postgresql"])
def forms_database(request: pytest.FixtureRequest, postgres_url: str | None):
    if request.param == "sqlite":
        yield None  # the app's own SQLite file
        return
    if not postgres_url:
        pytest.skip('PostgreSQL not started (eval "$(bash scripts/postgres.sh start)")')
    import psycopg
    from sqlalchemy.engine import make_url

    dsn = make_url(postgres_url).set(drivername="postgresql").render_as_string(False)
    name = f"fuzz_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(postgres_url).set(database=name).render_as_string(False)
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_every_form_seed_keeps_the_http_contract(forms_database: str | None) -> None:
    app = FormsApp(forms_database)
    try:
        failures = _run_seeds(app, SEEDS["forms"]())
    finally:
        app.close()
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("name", list(SHORT_RUNS))
def test_short_atheris_run_finds_nothing(name: str, tmp_path: Path) -> None:
    runs = SHORT_RUNS[name]
    command = [
        sys.executable,
        str(FUZZ_MAIN),
        name,
        str(tmp_path / "corpus"),
        "-seed=1",
        f"-runs={runs}",
        "-max_total_time=120",  # a ceiling for a slow machine, not the stopping rule
        "-timeout=30",  # seconds per input: a hang is a finding
        "-rss_limit_mb=2048",
        f"-artifact_prefix={tmp_path}/",
        "-print_final_stats=1",
    ]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=400, cwd=tmp_path, env=env
    )
    log = result.stdout + result.stderr
    artifacts = sorted(p for p in tmp_path.iterdir() if p.name.split("-")[0] in _ARTIFACTS)
    shown = "\n".join(f"{p.name}: {p.read_bytes()[:300]!r}" for p in artifacts[:3])
    assert result.returncode == 0 and not artifacts, f"{shown}\n{log[-4000:]}"
    assert "INITED" in log, log[-2000:]  # the seeds ran before the mutations


_ARTIFACTS = {"crash", "oom", "timeout", "leak", "slow"}
