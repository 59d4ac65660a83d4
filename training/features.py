"""Cached trunk outputs for head-mode training.

Running the frozen trunk is >95 % of the cost of a CPU training step, and its output for a
given image view never changes, so each view is computed once and stored (float16) under
``cache_dir``, keyed by everything that could change it: backbone, split point, images,
augmentation settings, seed and preprocessing. Trying another head, learning rate or balance
then costs seconds. View 0 of every image is the clean evaluation input (made by
``plantscout.model.preprocess``); views 1..V are augmented.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from plantscout.datasets import Record
from plantscout.model import Preprocessing
from plantscout.model.preprocess import normalize

from .augment import Augmenter
from .config import AugmentConfig
from .data import eval_tensor, load_pixels, tile_pixels

CACHE_FORMAT = 1

Progress = Callable[[Iterable[Any], int, str], Iterable[Any]]


def cache_key(parts: dict[str, Any]) -> str:
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def records_fingerprint(records: Sequence[Record]) -> str:
    digest = hashlib.sha256()
    for r in records:
        digest.update(f"{r.sha256}|{r.crop}|{r.kind}\n".encode())
    return digest.hexdigest()


def view_inputs(
    record: Record, spec: Preprocessing, views: int, augmenter: Augmenter | None
) -> np.ndarray:
    """(1 + views, 3, S, S) float32: the clean input, then augmented ones."""
    out = [eval_tensor(record, spec)]
    if views:
        pixels = load_pixels(record, spec)
        if record.is_tile:
            pixels = tile_pixels(pixels, spec)
        for _ in range(views):
            assert augmenter is not None
            out.append(normalize(augmenter(pixels, record.is_tile), spec))
    return np.stack(out)


@torch.no_grad()
def extract(
    trunk: nn.Module,
    records: Sequence[Record],
    spec: Preprocessing,
    *,
    views: int,
    augment: AugmentConfig,
    seed: int,
    batch_size: int,
    device: torch.device,
    progress: Progress,
    desc: str,
) -> np.ndarray:
    """Trunk outputs, shape (N, 1 + views, ...), float16."""
    trunk.eval()
    augmenter = Augmenter(spec.input_size, augment, seed) if views else None
    result: np.ndarray | None = None
    pending: list[np.ndarray] = []
    start = 0

    def flush() -> None:
        nonlocal result, start
        batch = torch.from_numpy(np.concatenate(pending)).to(device)
        out = trunk(batch).float().cpu().numpy().astype(np.float16)
        out = out.reshape(len(pending), 1 + views, *out.shape[1:])
        if result is None:
            result = np.empty((len(records), *out.shape[1:]), np.float16)
        result[start : start + len(out)] = out
        start += len(out)
        pending.clear()

    per_batch = max(1, batch_size // (1 + views))
    for record in progress(records, len(records), desc):
        pending.append(view_inputs(record, spec, views, augmenter))
        if len(pending) >= per_batch:
            flush()
    if pending:
        flush()
    assert result is not None
    return result


def _run_bridge(
    bridge: nn.Module,
    deeper: np.ndarray,
    *,
    batch_size: int,
    device: torch.device,
    progress: Progress,
    desc: str,
) -> np.ndarray:
    """Frozen blocks applied to a deeper cache: (N, V, ...) -> (N, V, ...), float16."""
    bridge.eval()
    n, views = deeper.shape[:2]
    per_batch = max(1, batch_size // views)
    result: np.ndarray | None = None
    starts = range(0, n, per_batch)
    with torch.no_grad():
        for start in progress(starts, len(starts), f"{desc} (from deeper cache)"):
            chunk = np.asarray(deeper[start : start + per_batch], np.float32)
            flat = torch.from_numpy(chunk.reshape(-1, *chunk.shape[2:])).to(device)
            out = bridge(flat).float().cpu().numpy().astype(np.float16)
            out = out.reshape(len(chunk), views, *out.shape[1:])
            if result is None:
                result = np.empty((n, *out.shape[1:]), np.float16)
            result[start : start + len(chunk)] = out
    assert result is not None
    return result


def cached_features(
    cache_root: Path,
    trunk: nn.Module,
    records: Sequence[Record],
    spec: Preprocessing,
    *,
    backbone: str,
    train_blocks: int,
    views: int,
    augment: AugmentConfig,
    seed: int,
    batch_size: int,
    device: torch.device,
    progress: Progress,
    desc: str,
    log: Callable[[str], None] = print,
    bridge_for: Callable[[int], nn.Module] | None = None,
) -> np.ndarray:
    """Load the cache for these images/settings, or compute and store it.

    ``bridge_for(k)`` returns the frozen blocks between a split at ``k`` trained blocks and
    this one; when a cache exists for a deeper split (same images, views, augmentation), the
    features are derived from it in minutes instead of re-running the whole trunk.
    """

    def cache_path(blocks: int) -> Path:
        key = cache_key(
            {
                "format": CACHE_FORMAT,
                "backbone": backbone,
                "train_blocks": blocks,
                "records": records_fingerprint(records),
                "views": views,
                "augment": augment.__dict__ if views else None,
                "seed": seed if views else None,
                "preprocessing": spec.as_dict(),
            }
        )
        return cache_root / f"{backbone}-k{blocks}-{desc}-{key}.npy"

    path = cache_path(train_blocks)
    if path.is_file():
        log(f"features: {desc} from cache {path}")
        return np.load(path, mmap_mode="r")
    deeper = next(
        (k for k in range(train_blocks + 1, 32) if bridge_for and cache_path(k).is_file()), None
    )
    if deeper is not None and bridge_for is not None:
        log(f"features: {desc} derived from the cache at {deeper} trained blocks")
        features = _run_bridge(
            bridge_for(deeper),
            np.load(cache_path(deeper), mmap_mode="r"),
            batch_size=batch_size,
            device=device,
            progress=progress,
            desc=desc,
        )
    else:
        features = extract(
            trunk,
            records,
            spec,
            views=views,
            augment=augment,
            seed=seed,
            batch_size=batch_size,
            device=device,
            progress=progress,
            desc=desc,
        )
    cache_root.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npy")
    np.save(tmp, features)
    tmp.replace(path)
    log(f"features: {desc} cached at {path} ({features.nbytes / 1e6:.0f} MB)")
    return features
