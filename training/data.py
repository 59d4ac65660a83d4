"""From a built manifest to model inputs, with the same preprocessing serving uses.

Evaluation inputs (val/test, and the clean training view) are made by
``plantscout.model.preprocess`` after decoding with ``read_image(min_decoded_side=...)`` —
exactly what ``Scorer`` does — so validation numbers measure what the service will see.
Drone tiles are already cut at the model's input size; like ``Scorer.score_tiles`` they are
only normalised (resized first if the dataset was tiled at another size).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

from plantscout.datasets import Record, read_records
from plantscout.model import Preprocessing, preprocess, read_image
from plantscout.model.preprocess import normalize

from .config import DataConfig


@dataclass(frozen=True)
class Split:
    records: list[Record]
    targets: np.ndarray  # int64 label indices
    labels: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.records)


def load_splits(cfg: DataConfig) -> dict[str, Split]:
    """Read the built manifest and index labels in config order."""
    records = read_records(cfg.manifest)
    if not records:
        raise ValueError(f"{cfg.manifest} holds no records")
    unsplit = [r for r in records if r.split not in ("train", "val", "test")]
    if unsplit:
        raise ValueError(
            f"{cfg.manifest}: {len(unsplit)} rows have no split; build the dataset first "
            "(plantscout datasets build)"
        )
    unknown = Counter(r.label for r in records if r.label not in cfg.labels)
    if unknown and cfg.unknown_labels == "error":
        raise ValueError(
            f"labels {dict(unknown)} are in the data but not in data.labels {list(cfg.labels)}; "
            "add them or set data.unknown_labels = 'drop'"
        )
    index = {label: i for i, label in enumerate(cfg.labels)}
    out: dict[str, Split] = {}
    for split in ("train", "val", "test"):
        rows = [r for r in records if r.split == split and r.label in index]
        targets = np.array([index[r.label] for r in rows], dtype=np.int64)
        out[split] = Split(rows, targets, tuple(cfg.labels))
    missing = [label for label in cfg.labels if not (out["train"].targets == index[label]).any()]
    if missing:
        raise ValueError(f"no training images for label(s) {missing}")
    return out


def load_pixels(record: Record, spec: Preprocessing) -> np.ndarray:
    """Decoded RGB uint8 HWC pixels, decoded the way the Scorer decodes them."""
    decoded = read_image(record.path, min_decoded_side=spec.resize_side)
    return np.asarray(decoded.image.convert("RGB"))


def tile_pixels(pixels: np.ndarray, spec: Preprocessing) -> np.ndarray:
    """A tile at the model's input size (resized with the card's interpolation if needed)."""
    size = spec.input_size
    if pixels.shape[0] == size and pixels.shape[1] == size:
        return pixels
    from plantscout.model.preprocess import resize_and_crop

    squash = Preprocessing(**{**spec.as_dict(), "resize": "squash"})
    return np.asarray(resize_and_crop(Image.fromarray(pixels), squash))


def eval_tensor(record: Record, spec: Preprocessing) -> np.ndarray:
    """float32 CHW input for evaluation: plantscout.model.preprocess, or tile normalisation."""
    if record.is_tile:
        return normalize(tile_pixels(load_pixels(record, spec), spec), spec)
    decoded = read_image(record.path, min_decoded_side=spec.resize_side)
    return preprocess(decoded.image, spec)


def balance_source(record: Record, key: str = "source") -> str:
    """The unit sources are balanced by: the repository, or (``source_gsd``) the repository
    and the drone tile's resolution."""
    if key == "source_gsd" and record.is_tile and record.gsd_m:
        return f"{record.source}@{record.gsd_m:g}"
    return record.source


def sample_weights(
    records: Sequence[Record],
    targets: np.ndarray,
    label_power: float,
    source_power: float,
    source_key: str = "source",
) -> np.ndarray:
    """Per-sample weights: label share ∝ n_label**label_power, source share within a label
    ∝ n_source**source_power; weights average to 1.

    With the defaults (0, 0.5) every label gets the same share, and within cannabis the 1,300
    porch photos no longer drown the 120 web photos (their shares become ∝ √n).
    """
    n = len(records)
    label_counts = Counter(targets.tolist())
    keys = [balance_source(r, source_key) for r in records]
    source_counts = Counter((int(t), k) for k, t in zip(keys, targets, strict=True))
    label_share = {k: v**label_power for k, v in label_counts.items()}
    total = sum(label_share.values())
    weights = np.empty(n, dtype=np.float64)
    for i, (key, target) in enumerate(zip(keys, targets, strict=True)):
        t = int(target)
        sources = {s: c for (lab, s), c in source_counts.items() if lab == t}
        src_total = sum(c**source_power for c in sources.values())
        src_share = sources[key] ** source_power / src_total
        weights[i] = (label_share[t] / total) * src_share / sources[key]
    return weights * n / weights.sum()
