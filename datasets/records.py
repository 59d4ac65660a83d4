"""One image (or drone tile) in a dataset, and the built-manifest CSV format.

The built manifest is the one file format every producer of training data writes: the
builder, future importers, and the service's "reviewed records" export. Its columns are
documented in ``datasets/README.md``; only ``path`` and ``label`` are required on input, so
a producer can emit a minimal file and let ``plantscout datasets build`` fill in the rest.
"""

from __future__ import annotations

import csv
import hashlib
import os
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

# Column order of a built manifest. Paths are written relative to the manifest's folder
# (portable when the tree moves as a whole); absolute paths are accepted on input.
COLUMNS: tuple[str, ...] = (
    "path",
    "label",
    "split",
    "group",
    "source",
    "licence",
    "taxon",
    "view",
    "kind",
    "width",
    "height",
    "sha256",
    "gsd_m",
    "parent",
    "crop",
    "source_path",
    "commit",
    "taxon_zh",
    "scene",
    "source_family",
    "licence_flag",
)
REQUIRED_COLUMNS: tuple[str, ...] = ("path", "label")
KINDS = ("photo", "drone_frame", "drone_tile")
VIEWS = ("ground", "closeup", "aerial", "unknown")
SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class Record:
    """One sample. ``path`` is always absolute in memory."""

    path: Path
    label: str
    split: str = ""
    group: str = ""
    source: str = ""
    licence: str = ""
    taxon: str = ""
    view: str = "unknown"
    kind: str = "photo"
    width: int = 0
    height: int = 0
    sha256: str = ""
    gsd_m: float | None = None  # ground sampling distance (m/px), drone frames and tiles
    parent: str = ""  # drone tiles: path of the frame they were cut from
    crop: str = ""  # drone tiles: "x,y,w,h" in the parent frame's pixels
    source_path: str = ""
    commit: str = ""
    taxon_zh: str = ""  # Chinese name of the taxon (datasets/sources/taxa.csv)
    scene: str = ""  # what the photo shows: field, seedling, flowering, indoor, diseased, dried …
    # The unit a leave-one-source-out evaluation leaves out: the repository, and for
    # repositories whose folders are separate collections, "owner/name:family".
    source_family: str = ""
    licence_flag: str = ""  # open | research_only | none_stated (see datasets/licence_flags.py)

    def with_(self, **changes: object) -> Record:
        return replace(self, **changes)

    @property
    def is_tile(self) -> bool:
        return self.kind == "drone_tile"

    def as_row(self, base: Path | None = None) -> dict[str, str]:
        data = asdict(self)
        path = self.path
        if base is not None:
            path = Path(os.path.relpath(path, base))
        data["path"] = path.as_posix()
        data["gsd_m"] = "" if self.gsd_m is None else f"{self.gsd_m:g}"
        return {key: str(data[key]) for key in COLUMNS}


def record_from_row(row: dict[str, str], base: Path, *, line: int = 0) -> Record:
    """A record from a CSV row; relative paths resolve against ``base``."""
    missing = [c for c in REQUIRED_COLUMNS if not (row.get(c) or "").strip()]
    if missing:
        raise ValueError(f"row {line}: column(s) {', '.join(missing)} empty or missing")
    path = Path(row["path"])
    if not path.is_absolute():
        path = base / path
    known = {f.name for f in fields(Record)}
    values: dict[str, object] = {k: v.strip() for k, v in row.items() if k in known and v}
    values["path"] = path.resolve()
    for key in ("width", "height"):
        if key in values:
            values[key] = int(float(values[key]))  # type: ignore[arg-type]
    if "gsd_m" in values:
        values["gsd_m"] = float(values["gsd_m"])  # type: ignore[arg-type]
    kind = values.get("kind", "photo")
    if kind not in KINDS:
        raise ValueError(f"row {line}: kind {kind!r} is not one of {KINDS}")
    split = values.get("split", "")
    if split and split not in SPLITS:
        raise ValueError(f"row {line}: split {split!r} is not one of {SPLITS}")
    return Record(**values)  # type: ignore[arg-type]


def read_records(manifest: str | os.PathLike[str]) -> list[Record]:
    """Read a plants-v1-style source manifest or a built manifest (same reader)."""
    path = Path(manifest)
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        columns = set(reader.fieldnames or ())
        missing = [c for c in REQUIRED_COLUMNS if c not in columns]
        if missing:
            raise ValueError(f"{path}: missing column(s) {', '.join(missing)}")
        base = path.resolve().parent
        return [record_from_row(row, base, line=i + 2) for i, row in enumerate(reader)]


def write_records(manifest: str | os.PathLike[str], records: Iterable[Record]) -> Path:
    """Write a built manifest (atomically), paths relative to its folder."""
    path = Path(manifest)
    path.parent.mkdir(parents=True, exist_ok=True)
    base = path.resolve().parent
    tmp = path.with_suffix(".csv.tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(COLUMNS), lineterminator="\n")
        writer.writeheader()
        for record in records:
            writer.writerow(record.as_row(base))
    os.replace(tmp, path)
    return path


def manifest_hash(records: Sequence[Record]) -> str:
    """A content hash of a dataset: image bytes, labels, groups, splits and tile crops.

    Independent of where the files live, so the same data built in another folder (or on
    another machine) has the same hash; any change of label, split or image changes it.
    """
    digest = hashlib.sha256()
    lines = sorted(
        "\t".join((r.sha256, r.label, r.split, r.group, r.kind, r.crop, f"{r.gsd_m or ''}"))
        for r in records
    )
    for line in lines:
        digest.update(line.encode("utf-8") + b"\n")
    return digest.hexdigest()


def select(records: Iterable[Record], split: str | None = None) -> list[Record]:
    return [r for r in records if split is None or r.split == split]
