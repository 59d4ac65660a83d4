"""Scoring through a gallery: a drop-in wrapper around :class:`~plantscout.model.Scorer`.

``GalleryScorer(scorer, gallery)`` has the scoring methods the service, the CLI and the drone
scanner call (``read``, ``score_images``, ``score_image``, ``score_files``, ``score_tiles``,
``identity``), so wherever a ``Scorer`` is used a gallery can be switched on without touching
that code. The wrapper refuses, at construction, a gallery built with another bundle.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ImageError
from ..intake import DecodedImage
from ..score import Score
from ..scorer import Scorer
from .gallery import Gallery, apply_gallery


class GalleryScorer:
    """A scorer plus an optional gallery (``None``: plain classifier scores)."""

    def __init__(self, scorer: Scorer, gallery: Gallery | None) -> None:
        if gallery is not None:
            gallery.check_bundle(scorer.identity)
        self.scorer = scorer
        self.gallery = gallery
        self.card = scorer.card
        self.bundle = scorer.bundle
        # Tiles have no `unusable` rule (same as Scorer.score_tiles).
        self._tile_card = replace(
            self.card, decision=replace(self.card.decision, unusable_label=None)
        )

    @property
    def identity(self) -> dict[str, str]:
        return self.scorer.identity

    @property
    def min_decoded_side(self) -> int:
        return self.scorer.min_decoded_side

    def read(self, source: bytes | str | Path) -> DecodedImage:
        return self.scorer.read(source)

    def run(self, batch: np.ndarray) -> Any:
        return self.scorer.run(batch)

    def score_images(self, images: Sequence[DecodedImage]) -> list[Score]:
        return self._apply(self.scorer.score_images(images), self.card)

    def score_image(self, image: DecodedImage) -> Score:
        return self.score_images([image])[0]

    def score_files(self, sources: Iterable[bytes | str | Path]) -> Iterator[Score]:
        for score in self.scorer.score_files(sources):
            yield self._apply([score], self.card)[0]

    def score_tiles(self, tiles: Sequence[np.ndarray]) -> list[Score]:
        return self._apply(self.scorer.score_tiles(tiles), self._tile_card)

    def _apply(self, scores: list[Score], card: Any) -> list[Score]:
        if self.gallery is None or not self.gallery.references:
            return scores
        return [apply_gallery(score, self.gallery, card) for score in scores]


@dataclass(frozen=True)
class Embedded:
    """Embeddings of the files that could be read, and why the others could not."""

    paths: list[Path]
    sha256: list[str]
    embeddings: np.ndarray
    errors: list[tuple[Path, str]]


def embed_files(scorer: Scorer, paths: Sequence[str | Path]) -> Embedded:
    """The bundle's embedding of each readable image (intake and preprocessing as scoring)."""
    ok_paths: list[Path] = []
    shas: list[str] = []
    vectors: list[np.ndarray] = []
    errors: list[tuple[Path, str]] = []
    pending: list[tuple[Path, DecodedImage]] = []

    def flush() -> None:
        scores = scorer.score_images([d for _, d in pending])
        for (path, decoded), score in zip(pending, scores, strict=True):
            ok_paths.append(path)
            shas.append(decoded.sha256)
            vectors.append(np.asarray(score.embedding, np.float32))
        pending.clear()

    for raw in paths:
        path = Path(raw)
        try:
            pending.append((path, scorer.read(path)))
        except (ImageError, OSError) as exc:
            errors.append((path, getattr(exc, "message", str(exc))))
            continue
        if len(pending) >= scorer.batch_size:
            flush()
    if pending:
        flush()
    dim = scorer.card.embedding_dim or (len(vectors[0]) if vectors else 0)
    matrix = np.stack(vectors) if vectors else np.zeros((0, dim), np.float32)
    return Embedded(ok_paths, shas, matrix, errors)
