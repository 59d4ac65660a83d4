"""Turning uploaded files into decoded images and scores, with bounded CPU and memory.

Request threads are many (uploads wait on the network and the disk); decoding and ONNX runs
are CPU-bound. A semaphore lets only ``score_concurrency`` requests decode and score at once,
so 50 field phones uploading together queue for the CPU instead of thrashing it, and only
those requests hold a photo's bytes and pixels in memory (the others wait on disk).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
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
    """A loaded scorer plus the CPU gate: ``concurrency`` threads of its own. Thread-safe.

    The gate is a pool, not a semaphore that request threads take turns at: a photo's bytes
    and pixels are allocated (and freed) only by these few threads. Memory allocators keep
    freed blocks per thread (glibc arenas), so with a semaphore every one of 32 request
    threads ended up holding a freed 30 MB photo buffer (+795 MiB at 32 clients, measured);
    with the pool, at most ``concurrency`` do.
    """

    def __init__(self, scorer: Scorer, concurrency: int) -> None:
        self.scorer = scorer
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="score")
        weakref.finalize(self, self._pool.shutdown, wait=False)  # a swapped-out model

    @property
    def identity(self) -> dict[str, str]:
        return self.scorer.identity

    def score(
        self, uploads: list[Upload], metadata: Callable[[bytes], Any] | None = None
    ) -> list[ScoredPhoto]:
        """Decode and score every photo, or raise a 4xx naming the first bad one.

        Inside the gate each photo is read once, decoded, given to ``metadata`` (EXIF / XMP)
        from the same bytes, scored, and dropped before the next: memory holds one photo per
        gate thread, however many photos or requests are waiting.
        """
        return self._pool.submit(self._score_all, uploads, metadata).result()

    def _score_all(
        self, uploads: list[Upload], metadata: Callable[[bytes], Any] | None
    ) -> list[ScoredPhoto]:
        scored = []
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
