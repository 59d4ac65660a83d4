#!/usr/bin/env bash
# The test command (README): installs everything the tests need, starts PostgreSQL, lints,
# then runs pytest. Extra arguments go to pytest, e.g. `bash scripts/test.sh tests/model -x`.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f ../shared/datasets/plants-v1/manifest.csv ]; then
  echo "error: ../shared (real photos and fixtures) must sit beside this checkout" >&2
  exit 1
fi
bash scripts/setup.sh serve,train,geo,dev
if [ ! -x /usr/bin/chromium ] && [ "$(id -u)" = 0 ]; then
  bash scripts/apt-install.sh chromium fonts-wqy-microhei  # waits for the dpkg lock
fi
eval "$(bash scripts/postgres.sh start)"
export PLANTSCOUT_REQUIRE_POSTGRES=1 PLANTSCOUT_REQUIRE_BROWSER=1
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/python -m pytest "$@"
