"""A per-image store of trunk outputs: computed once, resumed after an interruption, grown
when the dataset grows.

Head-mode training and the out-of-source protocol fit many heads on the same frozen trunk
outputs. Keying one cache file by the whole set of images (as v1 did) meant that adding one
image, or asking for another split, re-ran the trunk over everything — hours on a shared
2-core machine. Here every image is keyed by its own content (``sha256``, tile crop, kind),
its augmented views are seeded by that key (so a view never depends on which other images
were in the batch), and results are written in small shards, each renamed into place only
when complete. Killing the job loses at most one shard; rerunning skips what is there.

Layout: ``ROOT/<backbone>-k<blocks>-<settings hash>/`` holds ``settings.json`` and shards
``part-NNNNNN.npy`` (float16, ``(n, 1 + views, ...)``) with ``part-NNNNNN.keys`` (one image
key per line, written last: a shard without its keys file is ignored). ``part-NNNNNN.luma``
keeps each image's mean input luma, so the ``too_dark`` rule can be replayed without pixels.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from plantscout.datasets import Record

STORE_FORMAT = 2
Log = Callable[[str], None]


def record_key(record: Record) -> str:
    """What identifies an input: its bytes, and for a tile which part of the frame."""
    return f"{record.sha256}|{record.crop}|{record.kind}"


def view_seed(seed: int, key: str) -> int:
    """The augmentation seed of one image: fixed by the run seed and the image alone."""
    digest = hashlib.sha256(f"{seed}|{key}".encode()).digest()
    return int.from_bytes(digest[:4], "little") & 0x7FFFFFFF


def settings_key(settings: dict[str, Any]) -> str:
    text = json.dumps({"format": STORE_FORMAT, **settings}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


class FeatureStore:
    """Trunk outputs of many images under one set of settings (see the module docstring)."""

    def __init__(self, root: Path, settings: dict[str, Any]) -> None:
        self.settings = settings
        name = f"{settings['backbone']}-k{settings['train_blocks']}-{settings_key(settings)}"
        self.directory = Path(root) / name
        self._index: dict[str, tuple[Path, int]] | None = None
        self._luma: dict[str, float] = {}
        self._arrays: dict[Path, np.ndarray] = {}

    # -- reading ---------------------------------------------------------------------------
    def index(self) -> dict[str, tuple[Path, int]]:
        """key -> (shard file, row) over every complete shard."""
        if self._index is None:
            index: dict[str, tuple[Path, int]] = {}
            for keys_file in sorted(self.directory.glob("part-*.keys")):
                shard = keys_file.with_suffix(".npy")
                keys = keys_file.read_text("utf-8").splitlines()
                luma_file = keys_file.with_suffix(".luma")
                luma = (
                    [float(v) for v in luma_file.read_text("utf-8").split()]
                    if luma_file.is_file()
                    else [float("nan")] * len(keys)
                )
                for row, key in enumerate(keys):
                    index.setdefault(key, (shard, row))
                    self._luma.setdefault(key, luma[row])
            self._index = index
        return self._index

    def missing(self, records: Sequence[Record]) -> list[Record]:
        index = self.index()
        seen: set[str] = set()
        out = []
        for record in records:
            key = record_key(record)
            if key not in index and key not in seen:
                seen.add(key)
                out.append(record)
        return out

    def _array(self, shard: Path) -> np.ndarray:
        if shard not in self._arrays:
            self._arrays[shard] = np.load(shard, mmap_mode="r")
        return self._arrays[shard]

    def gather(self, records: Sequence[Record]) -> np.ndarray:
        """(N, 1 + views, ...) float16 in record order; every record must be stored."""
        index = self.index()
        absent = [r for r in records if record_key(r) not in index]
        if absent:
            raise KeyError(f"{len(absent)} images are not in {self.directory}; fill it first")
        if not records:
            raise ValueError("no records to gather")
        first = self._array(index[record_key(records[0])][0])
        out = np.empty((len(records), *first.shape[1:]), np.float16)
        for i, record in enumerate(records):
            shard, row = index[record_key(record)]
            out[i] = self._array(shard)[row]
        return out

    def luma(self, records: Sequence[Record]) -> np.ndarray:
        self.index()
        return np.array([self._luma.get(record_key(r), float("nan")) for r in records])

    # -- writing ---------------------------------------------------------------------------
    def add(self, keys: Sequence[str], features: np.ndarray, luma: Sequence[float]) -> Path:
        """Write one complete shard; visible to readers only once its keys file exists."""
        if len(keys) != len(features) or len(keys) != len(luma):
            raise ValueError("keys, features and luma must have the same length")
        self.directory.mkdir(parents=True, exist_ok=True)
        settings_file = self.directory / "settings.json"
        if not settings_file.is_file():
            settings_file.write_text(json.dumps(self.settings, indent=2, default=str) + "\n")
        number = len(list(self.directory.glob("part-*.keys")))
        while (self.directory / f"part-{number:06d}.keys").exists():
            number += 1
        base = self.directory / f"part-{number:06d}"
        tmp = base.with_suffix(".tmp.npy")
        np.save(tmp, np.asarray(features, np.float16))
        tmp.replace(base.with_suffix(".npy"))
        base.with_suffix(".luma").write_text(" ".join(f"{v:.6f}" for v in luma) + "\n")
        keys_tmp = base.with_suffix(".keys.tmp")
        keys_tmp.write_text("\n".join(keys) + "\n", "utf-8")
        keys_tmp.replace(base.with_suffix(".keys"))
        self._index = None
        return base

    def fill(
        self,
        records: Sequence[Record],
        compute: Callable[[Sequence[Record]], tuple[np.ndarray, np.ndarray]],
        *,
        chunk: int = 64,
        log: Log = print,
        what: str = "features",
    ) -> int:
        """Compute and store every image not yet stored, ``chunk`` images per shard.

        ``compute(records) -> (features (n, 1 + views, ...), luma (n,))``. Progress goes to
        ``log`` once per shard, with the rate and the time left. Returns how many were added.
        """
        todo = self.missing(records)
        total = len(todo)
        if not total:
            return 0
        log(f"{what}: {total} of {len(records)} images to compute into {self.directory}")
        started = time.perf_counter()
        done = 0
        for start in range(0, total, chunk):
            part = todo[start : start + chunk]
            features, luma = compute(part)
            self.add([record_key(r) for r in part], features, luma)
            done += len(part)
            rate = done / max(time.perf_counter() - started, 1e-9)
            log(
                f"{what}: {done}/{total} images ({rate:.2f} img/s, "
                f"{(total - done) / rate / 60:.1f} min left)"
            )
        return total


def batched(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
