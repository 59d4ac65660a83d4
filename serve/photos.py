"""Content-addressed photo store: originals kept byte for byte, durably, under their sha256.

The order of events is what keeps "nothing accepted is ever lost": a photo is written to a
temporary file, fsynced, renamed into place and its directory fsynced *before* the database
commit that references it. A crash before the commit leaves only an unreferenced file, which
:meth:`PhotoStore.sweep` removes once it is older than a grace period; the same bytes sent
again land on the same path, so a retry after a crash simply reuses the file.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

_HEX = frozenset("0123456789abcdef")


def is_sha256(value: str) -> bool:
    return len(value) == 64 and set(value) <= _HEX


@dataclass(frozen=True)
class SweepResult:
    scanned: int
    removed: int
    kept_young: int
    bytes_removed: int


class PhotoStore:
    """``<root>/ab/cd/<sha256>`` files; ``<root>/.tmp`` holds writes in progress."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.tmp = self.root / ".tmp"
        self.tmp.mkdir(parents=True, exist_ok=True)
        # Held while checking-and-touching in put() and while deleting in sweep(), so a file a
        # request is about to reference is never removed between the two (see sweep()).
        self._lock = threading.Lock()

    def path_for(self, sha256: str) -> Path:
        if not is_sha256(sha256):
            raise ValueError(f"not a sha256 hex digest: {sha256!r}")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def exists(self, sha256: str) -> bool:
        return self.path_for(sha256).is_file()

    def put(self, data: bytes, sha256: str | None = None) -> str:
        """Store ``data`` durably and return its sha256. Idempotent for the same bytes."""
        digest = hashlib.sha256(data).hexdigest()
        if sha256 is not None and sha256 != digest:
            raise ValueError("sha256 does not match the data")
        return self.put_stream([data], digest, len(data))

    def put_stream(self, chunks: Iterable[bytes], sha256: str, size: int) -> str:
        """Store a file that arrives in pieces (an upload on disk) without holding it whole.

        The pieces are hashed as they are written; a mismatch with ``sha256`` (the file
        changed under us) removes the temporary file and raises ``ValueError``.
        """
        final = self.path_for(sha256)
        with self._lock:
            if final.is_file() and final.stat().st_size == size:
                os.utime(final)  # fresh again: a sweep in progress must not take it now
                return sha256
        # Directories this write creates must themselves be made durable in their parents.
        new_dirs = [d for d in (final.parent.parent, final.parent) if not d.is_dir()]
        final.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=self.tmp, prefix=sha256[:16] + ".")
        try:
            digest = hashlib.sha256()
            with os.fdopen(fd, "wb") as handle:
                for chunk in chunks:
                    digest.update(chunk)
                    handle.write(chunk)
                handle.flush()
                os.fsync(handle.fileno())
            if digest.hexdigest() != sha256:
                raise ValueError("sha256 does not match the data")
            with self._lock:
                os.replace(tmp_name, final)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        _fsync_dir(final.parent)
        for directory in new_dirs:
            _fsync_dir(directory.parent)
        return sha256

    def put_many(self, items: Iterable[bytes]) -> list[str]:
        return [self.put(data) for data in items]

    def open(self, sha256: str):  # noqa: ANN201 - a binary file object
        return open(self.path_for(sha256), "rb")

    def iter_files(self) -> Iterator[Path]:
        for first in sorted(self.root.iterdir()):
            if first.name == ".tmp" or not first.is_dir():
                continue
            for second in sorted(first.iterdir()):
                if second.is_dir():
                    yield from (p for p in sorted(second.iterdir()) if is_sha256(p.name))

    def sweep(
        self,
        referenced: Callable[[list[str]], set[str]],
        *,
        grace_s: float,
        now: float | None = None,
        batch: int = 500,
    ) -> SweepResult:
        """Delete files no record references and older than ``grace_s`` seconds.

        ``referenced(digests)`` returns which of ``digests`` the database references; it is
        asked *after* the file was seen old, and a file is deleted only if it is still old
        when the lock is held, so a request that reuses (and so touches) it is never robbed.
        """
        now = time.time() if now is None else now
        scanned = removed = young = freed = 0
        self._sweep_tmp(now, grace_s)
        pending: list[Path] = []

        def flush() -> None:
            nonlocal removed, freed
            keep = referenced([p.name for p in pending])
            for path in pending:
                if path.name in keep:
                    continue
                with self._lock:
                    try:
                        stat = path.stat()
                    except FileNotFoundError:
                        continue
                    if now - stat.st_mtime < grace_s:
                        continue
                    path.unlink()
                removed += 1
                freed += stat.st_size
                log.info("swept orphan photo", extra={"sha256": path.name})
            pending.clear()

        for path in self.iter_files():
            scanned += 1
            if now - path.stat().st_mtime < grace_s:
                young += 1
                continue
            pending.append(path)
            if len(pending) >= batch:
                flush()
        if pending:
            flush()
        return SweepResult(scanned=scanned, removed=removed, kept_young=young, bytes_removed=freed)

    def _sweep_tmp(self, now: float, grace_s: float) -> None:
        for path in self.tmp.iterdir():
            try:
                if now - path.stat().st_mtime >= grace_s:
                    path.unlink()
            except FileNotFoundError:
                continue


def _fsync_dir(path: Path) -> None:
    """Make a rename or a new entry durable (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
