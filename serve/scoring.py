"""Turning uploaded files into decoded images and scores, with bounded CPU use.

Request threads are many (uploads wait on the network and the disk); decoding and ONNX runs
are CPU-bound. A semaphore lets only ``score_concurrency`` requests decode and score at once,
so 50 field phones uploading together queue for the CPU instead of thrashing it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from fastapi import UploadFile

from plantscout.model import Score, Scorer, combine_scores
from plantscout.model.errors import ImageError

from .errors import PayloadTooLarge, photo_error

CONTENT_TYPES = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "WEBP": "image/webp",
    "HEIF": "image/heif",
}
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Upload:
    """The bytes of one uploaded photo, exactly as received."""

    data: bytes
    filename: str | None


@dataclass(frozen=True)
class ScoredPhoto:
    upload: Upload
    score: Score

    @property
    def sha256(self) -> str:
        assert self.score.image is not None
        return self.score.image.sha256

    @property
    def content_type(self) -> str:
        assert self.score.image is not None
        return CONTENT_TYPES.get(self.score.image.format, "application/octet-stream")


def read_uploads(files: list[UploadFile], max_bytes: int) -> list[Upload]:
    """Read every file, refusing one larger than ``max_bytes`` without reading it all."""
    uploads = []
    for index, file in enumerate(files):
        chunks, size = [], 0
        while chunk := file.file.read(_CHUNK):
            size += len(chunk)
            if size > max_bytes:
                raise PayloadTooLarge(
                    f"photo {index + 1} ({file.filename or 'unnamed'}) is larger than "
                    f"{max_bytes:,} bytes",
                    details=[{"photo": index, "filename": file.filename, "code": "too_large"}],
                )
            chunks.append(chunk)
        uploads.append(Upload(b"".join(chunks), _clean_name(file.filename)))
    return uploads


def _clean_name(name: str | None) -> str | None:
    """The file's own name: no folders, no control characters (NUL cannot be stored)."""
    if not name:
        return None
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    return "".join(c for c in base if c >= " " and c != "\x7f")[:300] or None


class ScoringService:
    """A loaded scorer plus the CPU gate. Thread-safe."""

    def __init__(self, scorer: Scorer, concurrency: int) -> None:
        self.scorer = scorer
        self._slots = threading.BoundedSemaphore(concurrency)

    @property
    def identity(self) -> dict[str, str]:
        return self.scorer.identity

    def score(self, uploads: list[Upload]) -> list[ScoredPhoto]:
        """Decode and score all photos, or raise a 4xx naming the first bad one."""
        with self._slots:
            decoded = []
            for index, upload in enumerate(uploads):
                try:
                    decoded.append(self.scorer.read(upload.data))
                except ImageError as exc:
                    raise photo_error(exc, index, upload.filename) from exc
            scores = self.scorer.score_images(decoded)
        return [ScoredPhoto(u, s) for u, s in zip(uploads, scores, strict=True)]

    @staticmethod
    def combined(photos: list[ScoredPhoto]) -> dict[str, Any]:
        return combine_scores([p.score for p in photos])
