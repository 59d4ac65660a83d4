"""Uploaded photos as the request delivered them: on disk, hashed once, never held whole.

The multipart parser spools every file to a temporary file (in memory below 1 MiB, on disk
past it). Reading them into ``bytes`` up front cost ≈ 270 MB of memory per concurrent
10-photo request; instead each upload stays where it is, is hashed in small steps (the
idempotency check needs the digests before anything is scored), and is read whole only inside
the scoring gate, one photo at a time (``scoring.py``), and copied into the photo store in
steps (``photos.py``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from fastapi import UploadFile

from .errors import PayloadTooLarge

CHUNK = 256 * 1024  # per request thread: small, so 32 threads hold little between them


@dataclass(frozen=True)
class Upload:
    """One uploaded file: its spooled file object, size and sha256 (of the bytes as sent)."""

    file: BinaryIO
    filename: str | None
    size: int
    sha256: str

    def read(self) -> bytes:
        """The whole file (at most the per-photo limit). Only inside the scoring gate."""
        self.file.seek(0)
        return self.file.read()

    def chunks(self) -> Iterator[bytes]:
        self.file.seek(0)
        while chunk := self.file.read(CHUNK):
            yield chunk


def accept_uploads(files: list[UploadFile], max_bytes: int) -> list[Upload]:
    """Hash and measure every file, refusing one larger than ``max_bytes`` (413)."""
    uploads = []
    for index, file in enumerate(files):
        digest, size = hashlib.sha256(), 0
        file.file.seek(0)
        while chunk := file.file.read(CHUNK):
            size += len(chunk)
            if size > max_bytes:
                raise PayloadTooLarge(
                    f"photo {index + 1} ({file.filename or 'unnamed'}) is larger than "
                    f"{max_bytes:,} bytes",
                    details=[{"photo": index, "filename": file.filename, "code": "too_large"}],
                )
            digest.update(chunk)
        uploads.append(Upload(file.file, clean_name(file.filename), size, digest.hexdigest()))
    return uploads


def clean_name(name: str | None) -> str | None:
    """The file's own name: no folders, no control characters (NUL cannot be stored)."""
    if not name:
        return None
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    return "".join(c for c in base if c >= " " and c != "\x7f")[:300] or None
