"""ONNX Runtime scoring of decoded images and raw tiles.

One ``Scorer`` per bundle. Thread counts are explicit: the service and the drone scanner run
several scorers or workers side by side, and ONNX Runtime's default (all cores per session)
oversubscribes a 2-core laptop badly.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .bundle import EMBEDDING_OUTPUT, INPUT_NAME, LOGITS_OUTPUT, Bundle, check_graph, load_bundle
from .errors import BundleError
from .intake import DEFAULT_LIMITS, DecodedImage, IntakeLimits, read_image
from .preprocess import mean_luma, preprocess_batch, stack_tiles
from .score import ImageInfo, Score, score_from_logits


@dataclass(frozen=True)
class RawOutput:
    """What the network said, before any decision: logits and L2-normalised embeddings."""

    logits: np.ndarray  # (N, labels)
    embeddings: np.ndarray  # (N, dim)


def _default_threads() -> int:
    return max(1, min(4, os.cpu_count() or 1))


class Scorer:
    """Scores images with one bundle. Thread-safe: ONNX Runtime sessions allow concurrent runs."""

    def __init__(
        self,
        bundle: Bundle | str | os.PathLike[str] | None = None,
        *,
        intra_op_threads: int | None = None,
        batch_size: int = 16,
        limits: IntakeLimits = DEFAULT_LIMITS,
    ) -> None:
        import onnxruntime as ort

        self.bundle = (
            bundle if isinstance(bundle, Bundle) else load_bundle(bundle, check_onnx=False)
        )
        self.card = self.bundle.card
        self.batch_size = max(1, batch_size)
        self.limits = limits
        options = ort.SessionOptions()
        options.intra_op_num_threads = intra_op_threads or _default_threads()
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        try:
            self._session = ort.InferenceSession(
                str(self.bundle.onnx_path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:
            raise BundleError(f"cannot load {self.bundle.onnx_path}: {exc}") from exc
        check_graph(self.bundle, self._session)
        # Tiles have no `unusable` rule: a tile of bare soil is simply clear.
        self._tile_card = replace(
            self.card, decision=replace(self.card.decision, unusable_label=None)
        )

    @property
    def identity(self) -> dict[str, str]:
        return self.bundle.identity()

    @property
    def min_decoded_side(self) -> int:
        """The shorter side preprocessing needs; JPEG decoding may reduce down to it."""
        return self.card.preprocessing.resize_side

    # -- raw network -------------------------------------------------------------------
    def run(self, batch: np.ndarray) -> RawOutput:
        """Run the network on a preprocessed float32 NCHW batch, in chunks of ``batch_size``."""
        logits, embeddings = [], []
        for start in range(0, len(batch), self.batch_size):
            chunk = np.ascontiguousarray(batch[start : start + self.batch_size], np.float32)
            out_logits, out_emb = self._session.run(
                [LOGITS_OUTPUT, EMBEDDING_OUTPUT], {INPUT_NAME: chunk}
            )
            logits.append(out_logits)
            embeddings.append(out_emb)
        if not logits:
            n = len(self.card.labels)
            return RawOutput(np.zeros((0, n), np.float32), np.zeros((0, 0), np.float32))
        return RawOutput(np.concatenate(logits), np.concatenate(embeddings))

    # -- images --------------------------------------------------------------------------
    def read(self, source: bytes | str | Path) -> DecodedImage:
        """Decode with this model's needs in mind (JPEG reduced at decode time)."""
        return read_image(source, limits=self.limits, min_decoded_side=self.min_decoded_side)

    def score_images(self, images: Sequence[DecodedImage]) -> list[Score]:
        """Score decoded images, batched. Results are in input order."""
        scores: list[Score] = []
        for start in range(0, len(images), self.batch_size):
            chunk = images[start : start + self.batch_size]
            batch = preprocess_batch((d.image for d in chunk), self.card.preprocessing)
            raw = self.run(batch)
            familiarity = self.familiarity(raw.embeddings)
            for i, decoded in enumerate(chunk):
                scores.append(
                    score_from_logits(
                        self.card,
                        raw.logits[i],
                        self.identity,
                        image=ImageInfo(
                            decoded.sha256, decoded.width, decoded.height, decoded.format
                        ),
                        quality_reason=self._quality_reason(decoded, batch[i]),
                        embedding=raw.embeddings[i],
                        familiarity=familiarity[i],
                    )
                )
        return scores

    def score_image(self, image: DecodedImage) -> Score:
        return self.score_images([image])[0]

    def score_files(self, sources: Iterable[bytes | str | Path]) -> Iterator[Score]:
        """Decode and score lazily, keeping at most one batch of pixels in memory."""
        pending: list[DecodedImage] = []
        for source in sources:
            pending.append(self.read(source))
            if len(pending) == self.batch_size:
                yield from self.score_images(pending)
                pending = []
        if pending:
            yield from self.score_images(pending)

    # -- tiles ---------------------------------------------------------------------------
    def score_tiles(self, tiles: Sequence[np.ndarray]) -> list[Score]:
        """Score uint8 HWC tiles already cut at ``input_size`` (drone scanning)."""
        batch = stack_tiles(tiles, self.card.preprocessing)
        raw = self.run(batch)
        familiarity = self.familiarity(raw.embeddings)
        return [
            score_from_logits(
                self._tile_card,
                raw.logits[i],
                self.identity,
                embedding=raw.embeddings[i],
                familiarity=familiarity[i],
            )
            for i in range(len(tiles))
        ]

    def familiarity(self, embeddings: np.ndarray) -> list[float | None]:
        """Per image, similarity to the gated label's training photos (None: no gate)."""
        gate = self.bundle.familiarity
        if gate is None:
            return [None] * len(embeddings)
        return [float(v) for v in gate(embeddings)]

    def _quality_reason(self, decoded: DecodedImage, tensor: np.ndarray) -> str | None:
        rule = self.card.decision
        if min(decoded.width, decoded.height) < rule.min_side:
            return "too_small"
        # Mean luma of the model's own input, undoing normalisation: what the model "sees".
        if mean_luma(tensor, self.card.preprocessing) < rule.min_mean_luma:
            return "too_dark"
        return None
