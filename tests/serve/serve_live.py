"""The real service in its own process (uvicorn on a socket), for what only a real server shows:
when a body is read, how long a stalled upload is held, and how much memory load costs.

The socket is bound here and handed to uvicorn (``--fd``), so there is no port race; keys are
minted in the database before the server starts; ``rss()`` reads the server's own
``/proc/<pid>/status`` (current and peak resident memory, in KiB).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from plantscout.serve.db import Database
from plantscout.serve.keys import mint_key
from plantscout.serve.migrate import upgrade
from plantscout.serve.vocab import Role


class LiveProcess:
    def __init__(self, db_url: str, data_dir: Path, bundle: Path, **settings: Any) -> None:
        self.db_url, self.data_dir = db_url, data_dir
        self.env = {
            **os.environ,
            "PLANTSCOUT_DATABASE_URL": db_url,
            "PLANTSCOUT_DATA_DIR": str(data_dir),
            "PLANTSCOUT_MODEL_PATH": str(bundle),
            "PLANTSCOUT_MODEL_THREADS": "1",
            "PLANTSCOUT_SWEEP_INTERVAL_S": "0",
            "PLANTSCOUT_MODEL_WATCH_S": "0",
            "PLANTSCOUT_LOG_LEVEL": "WARNING",
            **{f"PLANTSCOUT_{k.upper()}": str(v) for k, v in settings.items()},
        }
        self.keys: dict[str, str] = {}
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> LiveProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        db = Database.connect(self.db_url)
        try:
            upgrade(db.engine)
            with db.write() as session:
                for name, role, unit in (
                    ("inspector", Role.INSPECTOR, "unit-a"),
                    ("admin", Role.ADMIN, None),
                ):
                    self.keys[name] = mint_key(session, role=role, name=name, unit=unit).key
        finally:
            db.dispose()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        fd = self.sock.fileno()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "plantscout.serve.app:create_app"]
            + ["--fd", str(fd), "--log-level", "warning", "--timeout-graceful-shutdown", "5"],
            env=self.env,
            cwd=self.data_dir,
            pass_fds=(fd,),
        )
        deadline = time.monotonic() + 120
        while True:
            assert self.proc.poll() is None, "the server exited while starting"
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.sock.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def auth(self, who: str = "inspector") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[who]}"}

    def rss(self) -> dict[str, int]:
        """``VmRSS`` (now) and ``VmHWM`` (peak since start) of the server, in KiB."""
        assert self.proc is not None
        values = {}
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            name, _, rest = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                values[name] = int(rest.split()[0])
        return values

    def raw(self, head: str, body: bytes = b"") -> socket.socket:
        """A connection that has sent ``head`` (request line and headers) and ``body``."""
        conn = socket.create_connection(("127.0.0.1", self.port), timeout=30)
        conn.sendall(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
        return conn


def read_status(conn: socket.socket, timeout: float) -> tuple[int | None, bytes]:
    """The status code of the response on ``conn`` (None if none came within ``timeout``)."""
    conn.settimeout(timeout)
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                break
            data += chunk
    except TimeoutError:
        return None, data
    if not data.startswith(b"HTTP/1.1 "):
        return None, data
    return int(data[9:12]), data
