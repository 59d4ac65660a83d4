"""Group-wise train/val/test split, stratified by label *and* source, reproducible from a seed.

Whole groups move together (a plant photographed 300 times is one group), so no plant, flight
or texture is on both sides. Stratifying by (label, source) rather than by label alone keeps
every source with enough groups present in every split: otherwise one big source (the Thai
potted plants) fills the cannabis test quota and the test set says nothing about web photos
or leaf close-ups. A stratum with a single group cannot be split and goes to train — a gap the
stats command lists, so nobody mistakes it for a tested source.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .records import SPLITS, Record

DEFAULT_FRACTIONS: Mapping[str, float] = {"train": 0.7, "val": 0.15, "test": 0.15}


@dataclass(frozen=True)
class GroupInfo:
    name: str
    size: int
    stratum: tuple[str, str]  # (label, source) held by most of the group's images


def group_infos(records: Sequence[Record]) -> list[GroupInfo]:
    members: dict[str, list[Record]] = defaultdict(list)
    for record in records:
        members[record.group].append(record)
    infos = []
    for name, items in sorted(members.items()):
        counts = Counter((r.label, r.source) for r in items)
        # Majority, ties broken by name so the result does not depend on row order.
        stratum = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
        infos.append(GroupInfo(name, len(items), stratum))
    return infos


def assign_splits(
    records: Sequence[Record],
    *,
    seed: int = 0,
    fractions: Mapping[str, float] = DEFAULT_FRACTIONS,
) -> list[Record]:
    """Return the records with ``split`` set. Deterministic for a given seed and record set."""
    if set(fractions) != set(SPLITS):
        raise ValueError(f"fractions must name exactly {SPLITS}")
    total = sum(fractions.values())
    if total <= 0 or any(v < 0 for v in fractions.values()):
        raise ValueError("fractions must be non-negative and not all zero")
    share = {k: v / total for k, v in fractions.items()}
    by_stratum: dict[tuple[str, str], list[GroupInfo]] = defaultdict(list)
    for info in group_infos(records):
        by_stratum[info.stratum].append(info)

    split_of: dict[str, str] = {}
    # Larger share first on ties: a lone group goes to train, never to test.
    order = sorted(SPLITS, key=lambda s: (-share[s], SPLITS.index(s)))
    for stratum in sorted(by_stratum):
        groups = by_stratum[stratum]
        rng = random.Random(f"{seed}|{stratum[0]}|{stratum[1]}")
        rng.shuffle(groups)
        groups.sort(key=lambda g: -g.size)  # stable: shuffled order breaks size ties
        size = sum(g.size for g in groups)
        filled = dict.fromkeys(SPLITS, 0)
        for group in groups:
            candidates = [s for s in order if share[s] > 0]
            ratios = {s: filled[s] / (share[s] * size) for s in candidates}
            lowest = min(ratios.values())
            tied = [s for s in candidates if ratios[s] == lowest]
            # Among empty splits prefer the largest share, else a seeded random choice.
            choice = tied[0] if lowest == 0 or len(tied) == 1 else rng.choice(tied)
            split_of[group.name] = choice
            filled[choice] += group.size
    return [r.with_(split=split_of[r.group]) for r in records]


def check_disjoint(records: Sequence[Record]) -> list[str]:
    """Groups that appear in more than one split (must be empty for a valid dataset)."""
    seen: dict[str, set[str]] = defaultdict(set)
    for record in records:
        seen[record.group].add(record.split)
    return sorted(g for g, splits in seen.items() if len(splits) > 1)
