"""Exact and near-duplicate detection; duplicates' groups are merged into one.

A near-duplicate in train and its twin in test would make test accuracy a memory test. So
near-duplicates are not deleted but *joined*: their groups merge, and the group-wise split
keeps them on one side. Exact byte-duplicates carrying the same label are collapsed to one
copy (a second copy adds weight, not information); exact duplicates with *different* labels
contradict each other and are dropped, and both are reported.

Near-duplicate = perceptual hash (pHash, 64 bit) within ``max_phash`` bits **and** difference
hash (dHash) within ``max_dhash`` bits. Requiring both keeps regular textures (chequered
cloth, tiles) from matching each other by accident while still catching resized,
recompressed or lightly cropped copies.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .records import Record
from .validate import Checked

DEFAULT_MAX_PHASH = 8
DEFAULT_MAX_DHASH = 10


@dataclass(frozen=True)
class DuplicatePair:
    a: str  # paths, for the report
    b: str
    kind: str  # "exact" or "near"
    phash_distance: int
    dhash_distance: int
    cross_label: bool


@dataclass
class DedupResult:
    records: list[Record]  # kept records, groups merged
    pairs: list[DuplicatePair] = field(default_factory=list)
    dropped: list[tuple[Record, str]] = field(default_factory=list)  # (record, reason)
    merged_groups: dict[str, list[str]] = field(default_factory=dict)  # new -> old groups


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            # The lexicographically smaller name wins, so merged names are stable.
            lo, hi = sorted((ra, rb))
            self.parent[hi] = lo


def _popcount_rows(values: np.ndarray, i: int) -> np.ndarray:
    return np.bitwise_count(np.bitwise_xor(values[i], values[i + 1 :]))


def near_pairs(
    phashes: np.ndarray, dhashes: np.ndarray, max_phash: int, max_dhash: int
) -> list[tuple[int, int, int, int]]:
    """All index pairs (i < j) within both distances: (i, j, phash_d, dhash_d)."""
    found: list[tuple[int, int, int, int]] = []
    for i in range(len(phashes) - 1):
        dp = _popcount_rows(phashes, i)
        candidates = np.nonzero(dp <= max_phash)[0]
        if candidates.size == 0:
            continue
        dd = np.bitwise_count(np.bitwise_xor(dhashes[i], dhashes[i + 1 + candidates]))
        for k, d in zip(candidates[dd <= max_dhash], dd[dd <= max_dhash], strict=True):
            found.append((i, i + 1 + int(k), int(dp[k]), int(d)))
    return found


def deduplicate(
    checked: Sequence[Checked],
    *,
    max_phash: int = DEFAULT_MAX_PHASH,
    max_dhash: int = DEFAULT_MAX_DHASH,
) -> DedupResult:
    """Collapse exact duplicates, then merge the groups of near-duplicates."""
    items = [c for c in checked if c.ok]
    result = DedupResult(records=[])

    # 1. Exact duplicates (same bytes).
    by_sha: dict[str, list[Checked]] = defaultdict(list)
    for item in items:
        by_sha[item.record.sha256].append(item)
    survivors: list[Checked] = []
    uf = _UnionFind()
    for copies in by_sha.values():
        first = copies[0]
        labels = {c.record.label for c in copies}
        for other in copies[1:]:
            result.pairs.append(
                DuplicatePair(
                    str(first.record.path), str(other.record.path), "exact", 0, 0, len(labels) > 1
                )
            )
        if len(labels) > 1:
            for c in copies:
                result.dropped.append((c.record, f"exact duplicate with labels {sorted(labels)}"))
            continue
        for other in copies[1:]:
            uf.union(first.record.group, other.record.group)
            result.dropped.append((other.record, f"exact duplicate of {first.record.path}"))
        survivors.append(first)

    # 2. Near duplicates among the survivors.
    if len(survivors) > 1:
        phashes = np.array([c.phash for c in survivors], dtype=np.uint64)
        dhashes = np.array([c.dhash for c in survivors], dtype=np.uint64)
        for i, j, dp, dd in near_pairs(phashes, dhashes, max_phash, max_dhash):
            a, b = survivors[i].record, survivors[j].record
            result.pairs.append(
                DuplicatePair(str(a.path), str(b.path), "near", dp, dd, a.label != b.label)
            )
            uf.union(a.group, b.group)

    # 3. Rename groups to their merged name.
    members: dict[str, set[str]] = defaultdict(set)
    for group in list(uf.parent):  # includes groups whose only image was an exact copy
        members[uf.find(group)].add(group)
    result.merged_groups = {
        root: sorted(groups) for root, groups in members.items() if len(groups) > 1
    }
    for item in survivors:
        root = uf.find(item.record.group)
        result.records.append(item.record.with_(group=root))
    return result
