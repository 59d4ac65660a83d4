"""Source families and the folds of the out-of-source protocol (pure Python).

A *family* is what the model must be able to meet unseen: one repository, or for a
repository that gathers several independent sets (flower species, seedling species, Thai
strains, texture classes) one of its folders. A manifest may name families itself in a
``source_family`` column (plants-v2 does); otherwise the family is derived from the source
and the folder the image came from, ignoring folder names that only say which split the
publisher used (``train``, ``test``, ``valid`` ...), so a species split across a publisher's
train and test folders stays one family.

A family that holds *every* training image of a label (plants-v2 names Oxford 102 Flowers one
family, and it holds all ornamental poppies) is split into its folders: a fold that leaves
a label with nothing to learn from measures the missing label, not transfer.

Each fold holds out families of one source. A source with more families than
``max_folds_per_source`` has them dealt round-robin (sorted by name) into that many folds,
so the protocol's cost stays bounded while every family is still scored by a model that
never saw it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

from plantscout.datasets import Record

# Folder names that say which split a publisher used, not what the images show.
SPLIT_FOLDERS = frozenset(
    {
        "train",
        "training",
        "test",
        "testing",
        "val",
        "valid",
        "validation",
        "training_images",
        "test_images",
        "trainingimages",
        "testimages",
    }
)


def family_of(record: Record) -> str:
    """The record's source family: the manifest's ``source_family``, else derived."""
    explicit = str(getattr(record, "source_family", "") or "").strip()
    return explicit or folder_family(record)


def folder_family(record: Record) -> str:
    """``source:folder`` from the path the image had in its repository (split folders out)."""
    source = record.source or "unknown source"
    folders = [
        part
        for part in PurePosixPath(record.source_path.replace("\\", "/")).parts[:-1]
        if part.lower() not in SPLIT_FOLDERS
    ]
    return f"{source}:{'/'.join(folders)}" if folders else source


@dataclass(frozen=True)
class Fold:
    """Families of one source held out together."""

    name: str
    source: str
    families: tuple[str, ...]


def protocol_families(records: Sequence[Record]) -> list[str]:
    """Each record's family for the protocol: ``family_of``, with a family that holds every
    training image of some label split into its folders (``folder_family``)."""
    families = [family_of(r) for r in records]
    train_labels: dict[str, set[str]] = defaultdict(set)  # label -> families with train images
    for record, family in zip(records, families, strict=True):
        if record.split == "train":
            train_labels[record.label].add(family)
    whole = {next(iter(f)) for f in train_labels.values() if len(f) == 1}
    return [
        folder_family(r) if family in whole and folder_family(r) != family else family
        for r, family in zip(records, families, strict=True)
    ]


def make_folds(records: Sequence[Record], max_folds_per_source: int = 10) -> list[Fold]:
    """Folds covering every family exactly once, in a stable order."""
    if max_folds_per_source < 1:
        raise ValueError("max_folds_per_source must be at least 1")
    by_source: dict[str, set[str]] = defaultdict(set)
    for record, family in zip(records, protocol_families(records), strict=True):
        by_source[record.source or "unknown source"].add(family)
    folds: list[Fold] = []
    for source in sorted(by_source):
        families = sorted(by_source[source])
        n = min(len(families), max_folds_per_source)
        for i in range(n):
            members = tuple(families[i::n])
            name = members[0] if len(members) == 1 else f"{source} [{i + 1}/{n}]"
            folds.append(Fold(name, source, members))
    return folds


def fold_index(records: Sequence[Record], folds: Sequence[Fold]) -> list[int]:
    """For each record, the index of the fold that holds its family out."""
    where = {family: i for i, fold in enumerate(folds) for family in fold.families}
    return [where[family] for family in protocol_families(records)]
