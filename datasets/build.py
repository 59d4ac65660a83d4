"""``plantscout datasets build``: from source manifests and folders to a split dataset.

Steps, each reported: read inputs -> validate every image (the service's own decoder) ->
collapse exact duplicates and merge near-duplicate groups -> split by group, stratified by
label and source -> cut drone frames into tiles at one ground resolution -> write
``manifest.csv`` (the built-manifest format), ``dataset.json`` (how it was built, its content
hash), ``duplicates.csv`` and ``rejected.csv``.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from plantscout.model import TAXONOMY

from .dedup import DEFAULT_MAX_DHASH, DEFAULT_MAX_PHASH, deduplicate
from .records import Record, manifest_hash, write_records
from .reserved import is_reserved
from .sources import SourceInfo, apply_sources, undescribed_sources
from .split import DEFAULT_FRACTIONS, assign_splits, check_disjoint
from .tiles import TileSpec, tile_frame
from .validate import DEFAULT_MIN_SIDE, check_records

MANIFEST_FILE = "manifest.csv"
INFO_FILE = "dataset.json"


@dataclass(frozen=True)
class BuildOptions:
    seed: int = 0
    fractions: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_FRACTIONS))
    min_side: int = DEFAULT_MIN_SIDE
    max_phash: int = DEFAULT_MAX_PHASH
    max_dhash: int = DEFAULT_MAX_DHASH
    tiles: TileSpec = field(default_factory=TileSpec)
    workers: int = 2


@dataclass
class BuildResult:
    records: list[Record]
    manifest: Path
    info: dict[str, Any]


Progress = Callable[[Iterable[Any], int, str], Iterable[Any]]


def _no_progress(items: Iterable[Any], total: int, desc: str) -> Iterable[Any]:
    return items


def fill_defaults(records: Sequence[Record], default_source: str = "") -> list[Record]:
    """Give every record a source and a group (its own, if the input named none)."""
    out = []
    for record in records:
        if record.label not in TAXONOMY:
            raise ValueError(
                f"{record.path}: label {record.label!r} is not one of {sorted(TAXONOMY)}"
            )
        source = record.source or default_source or record.path.parent.name
        group = record.group or f"{source}:{record.sha256 or record.path}"
        out.append(record.with_(source=source, group=group))
    return out


def build_dataset(
    inputs: Sequence[Record],
    out_dir: str | Path,
    *,
    options: BuildOptions = BuildOptions(),
    sources: Sequence[SourceInfo] = (),
    input_names: Sequence[str] = (),
    progress: Progress = _no_progress,
    extra_info: Mapping[str, Any] | None = None,
) -> BuildResult:
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    records = apply_sources(fill_defaults(inputs), sources)

    checked = check_records(
        records,
        min_side=options.min_side,
        workers=options.workers,
        progress=lambda items, n: progress(items, n, "validate"),
    )
    rejected: list[tuple[Record, str]] = [(c.record, c.error or "") for c in checked if not c.ok]
    dedup = deduplicate(checked, max_phash=options.max_phash, max_dhash=options.max_dhash)
    copies = drop_copies_of_reserved(dedup)
    rejected += dedup.dropped + copies
    split = assign_splits(dedup.records, seed=options.seed, fractions=options.fractions)

    final: list[Record] = []
    untiled: list[tuple[Record, str]] = []
    frames = [r for r in split if r.kind == "drone_frame"]
    for record in split:
        if record.kind != "drone_frame":
            final.append(record)
    for frame in progress(frames, len(frames), "tile"):
        tiles, reason = tile_frame(frame, options.tiles, out / "tiles" / frame.split)
        if reason:
            untiled.append((frame, f"not tiled: {reason}"))
        final.extend(tiles)
    rejected += untiled

    leaks = check_disjoint(final)
    if leaks:  # cannot happen by construction; a bug here must not ship a leaky split
        raise RuntimeError(f"groups in more than one split: {leaks[:5]}")

    final.sort(key=lambda r: (r.split, r.label, r.source, r.group, str(r.path)))
    manifest = write_records(out / MANIFEST_FILE, final)
    _write_duplicates(out / "duplicates.csv", dedup.pairs)
    _write_rejected(out / "rejected.csv", rejected)
    info = {
        "schema": "plantscout.dataset/1",
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "manifest": MANIFEST_FILE,
        "manifest_hash": manifest_hash(final),
        "inputs": list(input_names),
        "sources": [s.name for s in sources],
        "undescribed_sources": undescribed_sources(final, sources),
        "seed": options.seed,
        "fractions": dict(options.fractions),
        "validation": {"min_side": options.min_side},
        "dedup": {
            "max_phash": options.max_phash,
            "max_dhash": options.max_dhash,
            "exact_pairs": sum(p.kind == "exact" for p in dedup.pairs),
            "near_pairs": sum(p.kind == "near" for p in dedup.pairs),
            "cross_label_pairs": sum(p.cross_label for p in dedup.pairs),
            "merged_groups": dedup.merged_groups,
            "copies_of_reserved_dropped": len(copies),
        },
        "tiles": options.tiles.as_dict(),
        "counts": {
            "input": len(records),
            "rejected": len(rejected),
            "untiled_frames": len(untiled),
            "records": len(final),
        },
        **dict(extra_info or {}),
    }
    (out / INFO_FILE).write_text(json.dumps(info, ensure_ascii=False, indent=2) + "\n", "utf-8")
    return BuildResult(final, manifest, info)


def drop_copies_of_reserved(dedup: Any) -> list[tuple[Record, str]]:
    """Remove images that duplicate (exactly or nearly) an image of a reserved repository.

    Issue 11 reserves whole repositories *and other copies of them* for independent
    evaluation. plants-v1 holds the usable part of those repositories; a photo fetched from
    another repository that duplicates one of them is such a copy (web photos travel between
    scrapes), so it is dropped and reported, never trained on.
    """
    by_path = {str(r.path): r for r in dedup.records}
    by_path.update({str(r.path): r for r, _ in dedup.dropped})
    drop: dict[str, str] = {}
    for pair in dedup.pairs:
        a, b = by_path.get(pair.a), by_path.get(pair.b)
        if a is None or b is None or is_reserved(a.source) == is_reserved(b.source):
            continue
        copy, original = (b, a) if is_reserved(a.source) else (a, b)
        drop.setdefault(str(copy.path), f"copy of reserved {original.source} image {original.path}")
    kept = [r for r in dedup.records if str(r.path) not in drop]
    dropped = [(r, drop[str(r.path)]) for r in dedup.records if str(r.path) in drop]
    # Byte-identical copies were already dropped by de-duplication (the base set comes
    # first); name the reason for those too.
    already = [(r, drop[str(r.path)]) for r, _ in dedup.dropped if str(r.path) in drop]
    dedup.dropped = [(r, why) for r, why in dedup.dropped if str(r.path) not in drop]
    dedup.records = kept
    return dropped + already


def _write_duplicates(path: Path, pairs: Sequence[Any]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["a", "b", "kind", "phash_distance", "dhash_distance", "cross_label"])
        for p in pairs:
            writer.writerow([p.a, p.b, p.kind, p.phash_distance, p.dhash_distance, p.cross_label])


def _write_rejected(path: Path, rejected: Sequence[tuple[Record, str]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["path", "label", "source", "group", "reason"])
        for record, reason in rejected:
            writer.writerow([record.path, record.label, record.source, record.group, reason])


def load_info(dataset_dir: str | Path) -> dict[str, Any]:
    path = Path(dataset_dir) / INFO_FILE
    return json.loads(path.read_text("utf-8")) if path.is_file() else {}
