#!/usr/bin/env bash
# Install Debian packages (as root), waiting for the package manager's lock instead of failing.
#   bash scripts/apt-install.sh chromium fonts-wqy-microhei
# On a fresh machine another install (unattended upgrades, a provisioning step, another
# checkout's test run) often holds the dpkg lock; apt-get then fails at once with "Could not
# get lock". DPkg::Lock::Timeout makes it wait (PLANTSCOUT_APT_LOCK_TIMEOUT seconds, default
# 600). If the package lists are missing or stale, they are updated once and the install retried.
set -euo pipefail
wait_s="${PLANTSCOUT_APT_LOCK_TIMEOUT:-600}"
apt() {
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout="$wait_s" -y -qq "$@" >/dev/null
}
if ! apt install "$@"; then
  echo "apt-get install $* failed; updating the package lists and trying once more" >&2
  apt update
  apt install "$@"
fi
