"""scripts/apt-install.sh waits for the package manager's lock instead of failing.

A fresh machine's first CI run failed because another install held the dpkg lock. The test
holds the frontend lock of a private copy of the dpkg state (``APT_CONFIG`` points apt at it,
so the machine's real lock and cache are never touched) and installs a package that is
already installed (a no-op that still needs the lock):

- plain ``apt-get install`` fails at once with "Could not get lock" (the failure we fix);
- the script is still waiting when the lock is released, then succeeds.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DPKG_STATUS = Path("/var/lib/dpkg/status")

pytestmark = pytest.mark.skipif(
    shutil.which("apt-get") is None or os.geteuid() != 0 or not DPKG_STATUS.is_file(),
    reason="needs Debian's apt-get, run as root (as CI does)",
)


@pytest.fixture
def private_apt(tmp_path: Path) -> dict[str, str]:
    """An apt configuration whose dpkg state (so its lock), lists and cache live in tmp_path."""
    state = tmp_path / "dpkg"
    state.mkdir()
    shutil.copy(DPKG_STATUS, state / "status")
    (tmp_path / "cache" / "archives" / "partial").mkdir(parents=True)
    (tmp_path / "lists" / "partial").mkdir(parents=True)
    config = tmp_path / "apt.conf"
    config.write_text(
        f'Dir::State::status "{state / "status"}";\n'
        f'Dir::State::Lists "{tmp_path / "lists"}";\n'
        f'Dir::Cache "{tmp_path / "cache"}";\n'
        f'Dir::Log "{tmp_path / "log"}";\n'
    )
    return {**os.environ, "APT_CONFIG": str(config), "LOCK": str(state / "lock-frontend")}


def _hold_lock(path: str) -> int:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o640)
    fcntl.lockf(fd, fcntl.LOCK_EX)  # the fcntl lock dpkg and apt take
    return fd


def test_plain_apt_get_fails_while_another_install_holds_the_lock(private_apt) -> None:
    fd = _hold_lock(private_apt["LOCK"])
    try:
        result = subprocess.run(
            ["apt-get", "install", "-y", "-qq", "coreutils"],
            env=private_apt,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        os.close(fd)
    assert result.returncode != 0
    assert "lock" in result.stderr.lower(), result.stderr


def test_the_install_script_waits_for_the_lock_then_installs(private_apt) -> None:
    fd = _hold_lock(private_apt["LOCK"])
    env = {**private_apt, "PLANTSCOUT_APT_LOCK_TIMEOUT": "120"}
    process = subprocess.Popen(
        ["bash", str(REPO / "scripts" / "apt-install.sh"), "coreutils"],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(3)  # plain apt-get gives up within this (test above)
        still_waiting = process.poll() is None
    finally:
        os.close(fd)  # the other install finishes
    _, stderr = process.communicate(timeout=120)
    assert still_waiting, f"the script ended while the lock was held: {stderr}"
    assert process.returncode == 0, stderr
    assert "updating the package lists" not in stderr  # it waited; it did not fall back
