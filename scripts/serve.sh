#!/usr/bin/env bash
# The main job (README): install the service (no torch) and run it with the bundled default
# model and an embedded SQLite database under ./var. Extra arguments go to `plantscout serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh serve
exec .venv/bin/plantscout serve "$@"
