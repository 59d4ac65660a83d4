"""Turning uploaded files into decoded images and scores, with bounded CPU and memory.

Request threads are many (uploads wait on the network and the disk); decoding and ONNX runs
are CPU-bound. A semaphore lets only ``score_concurrency`` requests decode and score at once,
so 50 field phones uploading together queue for the CPU instead of thrashing it, and only
those requests hold a photo's bytes and pixels in memory (the others wait on disk).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from plantscout.model import Score, Scorer, combine_scores
from plantscout.model.errors import ImageError

from .errors import photo_error
from .uploads import Upload

CONTENT_TYPES = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "WEBP": "image/webp",
    "HEIF": "image/heif",
}


@dataclass(frozen=True)
class ScoredPhoto:
    upload: Upload
    score: Score
    metadata: Any = None  # what the caller's ``metadata`` function read from the same bytes

    @property
    def sha256(self) -> str:
        return self.upload.sha256

    @property
    def content_type(self) -> str:
        assert self.score.image is not None
        return CONTENT_TYPES.get(self.score.image.format, "application/octet-stream")


class ScoringService:
    """A loaded scorer plus the CPU gate. Thread-safe."""

    def __init__(self, scorer: Scorer, concurrency: int) -> None:
        self.scorer = scorer
        self._slots = threading.BoundedSemaphore(concurrency)

    @property
    def identity(self) -> dict[str, str]:
        return self.scorer.identity

    def score(
        self, uploads: list[Upload], metadata: Callable[[bytes], Any] | None = None
    ) -> list[ScoredPhoto]:
        """Decode and score every photo, or raise a 4xx naming the first bad one.

        Inside the gate each photo is read once, decoded, given to ``metadata`` (EXIF / XMP)
        from the same bytes, scored, and dropped before the next: memory holds one photo per
        gate slot, however many photos or requests are waiting.
        """
        scored = []
        with self._slots:
            for index, upload in enumerate(uploads):
                data = upload.read()
                try:
                    decoded = self.scorer.read(data)
                except ImageError as exc:
                    raise photo_error(exc, index, upload.filename) from exc
                extra = metadata(data) if metadata is not None else None
                del data
                score = self.scorer.score_images([decoded])[0]
                del decoded
                scored.append(ScoredPhoto(upload, score, extra))
        return scored

    @staticmethod
    def combined(photos: list[ScoredPhoto]) -> dict[str, Any]:
        return combine_scores([p.score for p in photos])
