"""Small real subsets of plants-v1 for dataset tests (paths point into ../shared)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest


def pick_rows(rows: list[dict[str, str]], per_stratum: dict[tuple[str, str], int]) -> list[dict]:
    """The first N rows of distinct groups for each (label, group prefix) stratum."""
    picked: list[dict[str, str]] = []
    for (label, prefix), n in per_stratum.items():
        seen: set[str] = set()
        for row in rows:
            if row["label"] != label or not row["group"].startswith(prefix):
                continue
            if row["group"] in seen:
                continue
            seen.add(row["group"])
            picked.append(row)
            if len(seen) == n:
                break
        assert len(seen) == n, (label, prefix, len(seen))
    return picked


def write_source_manifest(path: Path, rows: list[dict[str, str]], root: Path) -> Path:
    """A plants-v1-format manifest whose paths are absolute (the images stay in ../shared)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, "path": str(root / row["path"])})
    return path


TINY_STRATA = {
    ("cannabis", "thai-"): 5,
    ("ornamental_poppy", "oxford-"): 5,
    ("cannabis_lookalike", "web-"): 5,
    ("other_plant", "oxford-"): 5,
    ("background", "dtd-"): 5,
    ("cannabis", "hemp-"): 1,  # one drone frame
}


@pytest.fixture(scope="session")
def tiny_source(tmp_path_factory, plants_v1: Path, plants_manifest_rows) -> Path:
    rows = pick_rows(plants_manifest_rows, TINY_STRATA)
    return write_source_manifest(
        tmp_path_factory.mktemp("tiny-source") / "source.csv", rows, plants_v1
    )
