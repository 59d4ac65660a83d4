"""Trunk outputs for head-mode training, cached per image (see ``featurestore.py``).

Running the frozen trunk is >95 % of the cost of a CPU training step, and its output for a
given image view never changes, so each view is computed once and stored (float16), keyed by
everything that could change it: backbone, split point, augmentation settings, seed and
preprocessing (the store's settings) and the image's own content (its key). Trying another
head, learning rate, balance or held-out source then costs seconds. View 0 of every image is
the clean evaluation input (made by ``plantscout.model.preprocess``); views 1..V are
augmented, each image's views seeded by the image itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from plantscout.datasets import Record
from plantscout.model import Preprocessing
from plantscout.model.preprocess import mean_luma, normalize

from .augment import Augmenter
from .config import AugmentConfig
from .data import eval_tensor, load_pixels, tile_pixels
from .featurestore import FeatureStore, record_key, view_seed

Progress = Callable[[Iterable[Any], int, str], Iterable[Any]]
MAX_BLOCKS = 32


def store_settings(
    backbone: str,
    train_blocks: int,
    views: int,
    augment: AugmentConfig,
    seed: int,
    spec: Preprocessing,
) -> dict[str, Any]:
    return {
        "backbone": backbone,
        "train_blocks": train_blocks,
        "views": views,
        "augment": asdict(augment) if views else None,
        "seed": seed if views else None,
        "preprocessing": spec.as_dict(),
    }


def view_inputs(
    record: Record, spec: Preprocessing, views: int, augmenter: Augmenter | None, seed: int
) -> tuple[np.ndarray, float]:
    """(1 + views, 3, S, S) float32 — the clean input, then augmented ones — and the clean
    input's mean luma."""
    clean = eval_tensor(record, spec)
    out = [clean]
    if views:
        assert augmenter is not None
        augmenter.reseed(view_seed(seed, record_key(record)))
        pixels = load_pixels(record, spec)
        if record.is_tile:
            pixels = tile_pixels(pixels, spec)
        for _ in range(views):
            out.append(normalize(augmenter(pixels, record.is_tile), spec))
    return np.stack(out), mean_luma(clean, spec)


@torch.no_grad()
def compute_views(
    trunk: nn.Module,
    records: Sequence[Record],
    spec: Preprocessing,
    *,
    views: int,
    augment: AugmentConfig,
    seed: int,
    batch_size: int,
    device: torch.device,
) -> tuple[np.ndarray, np.ndarray]:
    """Trunk outputs (N, 1 + views, ...) float16 and the clean inputs' luma (N,)."""
    trunk.eval()
    augmenter = Augmenter(spec.input_size, augment, seed) if views else None
    per_batch = max(1, batch_size // (1 + views))
    chunks, lumas = [], []
    for start in range(0, len(records), per_batch):
        inputs = [
            view_inputs(r, spec, views, augmenter, seed) for r in records[start : start + per_batch]
        ]
        batch = torch.from_numpy(np.concatenate([x for x, _ in inputs])).to(device)
        out = trunk(batch).float().cpu().numpy().astype(np.float16)
        chunks.append(out.reshape(len(inputs), 1 + views, *out.shape[1:]))
        lumas += [luma for _, luma in inputs]
    return np.concatenate(chunks), np.asarray(lumas, np.float64)


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
    """Trunk outputs, shape (N, 1 + views, ...), float16, computed now (no store)."""
    parts = [
        compute_views(
            trunk,
            chunk,
            spec,
            views=views,
            augment=augment,
            seed=seed,
            batch_size=batch_size,
            device=device,
        )[0]
        for chunk in progress(_chunks(records, 64), (len(records) + 63) // 64, desc)
    ]
    return np.concatenate(parts)


def _chunks(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


@torch.no_grad()
def _bridge(
    bridge: nn.Module, deeper: np.ndarray, batch_size: int, device: torch.device
) -> np.ndarray:
    """Frozen blocks applied to deeper trunk outputs: (N, V, ...) -> (N, V, ...), float16."""
    bridge.eval()
    n, views = deeper.shape[:2]
    per_batch = max(1, batch_size // views)
    out = []
    for start in range(0, n, per_batch):
        chunk = np.asarray(deeper[start : start + per_batch], np.float32)
        flat = torch.from_numpy(chunk.reshape(-1, *chunk.shape[2:])).to(device)
        result = bridge(flat).float().cpu().numpy().astype(np.float16)
        out.append(result.reshape(len(chunk), views, *result.shape[1:]))
    return np.concatenate(out)


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
    chunk: int = 64,
) -> np.ndarray:
    """The stored trunk outputs of ``records`` (N, 1 + views, ...), computing what is missing.

    ``bridge_for(k)`` returns the frozen blocks between a split at ``k`` trained blocks and
    this one; images already stored for a deeper split (same views, augmentation, seed) are
    derived from it — a few blocks instead of the whole trunk.
    """
    store = feature_store(cache_root, backbone, train_blocks, views, augment, seed, spec)
    if bridge_for is not None:
        for deeper in range(train_blocks + 1, MAX_BLOCKS):
            todo = store.missing(records)
            if not todo:
                break
            source = feature_store(cache_root, backbone, deeper, views, augment, seed, spec)
            if not source.directory.is_dir():
                continue
            stored = source.index()
            present = [r for r in todo if record_key(r) in stored]
            if not present:
                continue
            log(f"features: {desc} derived from the cache at {deeper} trained blocks")
            bridge = bridge_for(deeper)
            store.fill(
                present,
                lambda part, src=source, b=bridge: (
                    _bridge(b, src.gather(part), batch_size, device),
                    src.luma(part),
                ),
                chunk=max(chunk, 256),
                log=log,
                what=f"features {desc} (from k={deeper})",
            )
    store.fill(
        records,
        lambda part: compute_views(
            trunk,
            part,
            spec,
            views=views,
            augment=augment,
            seed=seed,
            batch_size=batch_size,
            device=device,
        ),
        chunk=chunk,
        log=log,
        what=f"features {desc}",
    )
    log(f"features: {desc} from the store {store.directory}")
    return store.gather(records)


def feature_store(
    cache_root: Path,
    backbone: str,
    train_blocks: int,
    views: int,
    augment: AugmentConfig,
    seed: int,
    spec: Preprocessing,
) -> FeatureStore:
    return FeatureStore(
        Path(cache_root), store_settings(backbone, train_blocks, views, augment, seed, spec)
    )
