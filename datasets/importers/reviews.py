"""Reviewed inspection records + a built base dataset -> one built dataset to retrain on.

The service exports reviewed photos as a manifest (``GET /v1/exports/training…``: a zip of
``manifest.csv`` + ``images/``). Rebuilding everything with ``plantscout datasets build``
would re-split the base dataset too, so the candidate model's test split would contain photos
the current model trained on, and "candidate vs current on the same test data" would be
rigged in favour of the current one. Here the base keeps its splits *exactly*; only the new
groups (one inspection = one group, near-duplicate inspections merged) are split, with the
same fractions. New rows whose image is already in the base (by sha256) are skipped, so
exporting all reviews again next month and extending again is safe.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from ..build import INFO_FILE, MANIFEST_FILE, fill_defaults, load_info
from ..dedup import deduplicate
from ..records import Record, manifest_hash, read_records, write_records
from ..split import DEFAULT_FRACTIONS, assign_splits, check_disjoint
from ..tiles import TileSpec, tile_frame
from ..validate import check_records


@dataclass
class ExtendResult:
    manifest: Path
    added: dict[str, dict[str, int]]  # split -> label -> count of new records
    skipped: dict[str, int]  # reason -> count
    info: dict[str, Any]


def extend_with_reviews(
    base: str | Path,
    export: str | Path,
    out_dir: str | Path,
    *,
    seed: int = 0,
    fractions: Mapping[str, float] | None = None,
    workers: int = 2,
) -> ExtendResult:
    """Write ``out_dir/manifest.csv``: the base records unchanged plus the reviewed ones."""
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    base_manifest = _manifest_path(base)
    base_records = read_records(base_manifest)
    unsplit = [r for r in base_records if not r.split]
    if unsplit:
        raise ValueError(
            f"{base_manifest} is not a built dataset ({len(unsplit)} rows have no split): "
            "build it first with `plantscout datasets build`"
        )
    base_info = load_info(base_manifest.parent)
    fractions = dict(fractions or base_info.get("fractions") or DEFAULT_FRACTIONS)
    export_manifest = _unpack(Path(export), out / "reviews")
    new = fill_defaults(read_records(export_manifest), default_source="plantscout-inspections")

    skipped: Counter[str] = Counter()
    base_sha = {r.sha256 for r in base_records if r.sha256}
    fresh = []
    for record in new:
        if record.sha256 and record.sha256 in base_sha:
            skipped["already in the base dataset"] += 1
        else:
            fresh.append(record.with_(split=""))
    checked = check_records(fresh, workers=workers)
    for item in checked:
        if not item.ok:
            skipped[f"rejected: {item.error.split(':')[0]}"] += 1  # type: ignore[union-attr]
    dedup = deduplicate(checked)
    skipped["duplicate within the export"] += sum(
        1 for _, reason in dedup.dropped if reason.startswith("exact duplicate of")
    )
    skipped["conflicting labels"] += sum(
        1 for _, reason in dedup.dropped if reason.startswith("exact duplicate with labels")
    )
    base_groups = {r.group for r in base_records}
    clashes = sorted({r.group for r in dedup.records} & base_groups)
    if clashes:
        raise ValueError(f"review groups also exist in the base dataset: {clashes[:5]}")
    split_records = assign_splits(dedup.records, seed=seed, fractions=fractions)
    added_records, untiled = _tile_frames(split_records, base_info, out)
    for reason in untiled:
        skipped[f"drone frame not tiled: {reason}"] += 1
    combined: list[Record] = [*base_records, *added_records]
    leaks = check_disjoint(combined)
    if leaks:  # pragma: no cover - disjoint by construction; never ship a leaky split
        raise RuntimeError(f"groups in more than one split: {leaks[:5]}")
    manifest = write_records(out / MANIFEST_FILE, combined)

    added: dict[str, dict[str, int]] = {}
    for record in added_records:
        added.setdefault(record.split, {}).setdefault(record.label, 0)
        added[record.split][record.label] += 1
    info = {
        "schema": "plantscout.dataset/1",
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "manifest": MANIFEST_FILE,
        "manifest_hash": manifest_hash(combined),
        "extends": {
            "manifest": str(base_manifest),
            "manifest_hash": manifest_hash(base_records),
            "records": len(base_records),
            "splits_kept": True,
        },
        "inputs": [str(base_manifest), str(export)],
        "seed": seed,
        "fractions": fractions,
        "reviews": {
            "records": len(new),
            "added": added,
            "skipped": dict(skipped),
            "merged_groups": len(dedup.merged_groups),
        },
        "counts": {"records": len(combined), "base": len(base_records), "new": len(added_records)},
    }
    (out / INFO_FILE).write_text(json.dumps(info, ensure_ascii=False, indent=2) + "\n", "utf-8")
    return ExtendResult(manifest, added, dict(skipped), info)


def _tile_frames(
    records: list[Record], base_info: dict[str, Any], out: Path
) -> tuple[list[Record], list[str]]:
    """Drone frames become tiles at the base dataset's ground resolution, as the builder does."""
    spec_fields = {f.name for f in fields(TileSpec)}
    spec = TileSpec(**{k: v for k, v in (base_info.get("tiles") or {}).items() if k in spec_fields})
    kept: list[Record] = []
    reasons: list[str] = []
    for record in records:
        if record.kind != "drone_frame":
            kept.append(record)
            continue
        tiles, reason = tile_frame(record, spec, out / "tiles" / record.split)
        if reason:
            reasons.append(reason.split(" (")[0])
        kept.extend(tiles)
    return kept, reasons


def _manifest_path(path: str | Path) -> Path:
    path = Path(path)
    return path / MANIFEST_FILE if path.is_dir() else path


def _unpack(export: Path, target: Path) -> Path:
    """The export's manifest path; a zip is extracted (refusing paths that climb out)."""
    if export.is_dir() or export.suffix.lower() == ".csv":
        return _manifest_path(export)
    if not zipfile.is_zipfile(export):
        raise ValueError(f"{export} is neither a manifest, a folder nor a zip export")
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    with zipfile.ZipFile(export) as archive:
        for member in archive.infolist():
            name = PurePosixPath(member.filename)
            if name.is_absolute() or ".." in name.parts:
                raise ValueError(f"{export}: refusing the unsafe member name {member.filename!r}")
        archive.extractall(target)
    manifest = target / MANIFEST_FILE
    if not manifest.is_file():
        raise ValueError(f"{export} holds no {MANIFEST_FILE}")
    return manifest
