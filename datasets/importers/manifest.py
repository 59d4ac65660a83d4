"""The output of every importer: images on disk plus an append-only built manifest.

Rows are appended and flushed one image at a time, so an import interrupted at any point (a
dropped connection, Ctrl-C, a full disk) leaves a valid manifest of what was fetched; the
next run reads it back and skips what it already has. The columns are the built-manifest
columns of ``datasets/README.md`` followed by three import columns (``attribution``,
``url``, ``source_id``) that the manifest reader ignores but a model card and a licence
audit need.
"""

from __future__ import annotations

import csv
import json
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from plantscout.model import ImageError, IntakeLimits, read_image

from ..records import COLUMNS

IMPORT_COLUMNS: tuple[str, ...] = ("attribution", "url", "source_id")
MANIFEST_COLUMNS: tuple[str, ...] = (*COLUMNS, *IMPORT_COLUMNS)
MANIFEST_NAME = "manifest.csv"
STATE_NAME = ".import-state.json"
_SUFFIX = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp", "HEIF": ".heic"}
MIN_SIDE = 96  # smaller photos are `too_small` for the service, so they cannot train it


@dataclass(frozen=True)
class Candidate:
    """One image an importer found, before download: everything but the pixels."""

    source_id: str  # unique within the source (e.g. "inaturalist:photo:123")
    url: str
    label: str
    taxon: str
    group: str
    licence: str  # SPDX-like, e.g. CC-BY-4.0
    attribution: str
    source: str
    source_path: str  # where a person can see the original (observation page, archive path)
    commit: str = ""  # the source's version: archive name, or the retrieval date for APIs
    view: str = "unknown"


class ImportManifest:
    """Images and ``manifest.csv`` in ``out_dir``, resumable."""

    def __init__(self, out_dir: str | os.PathLike[str]) -> None:
        self.out_dir = Path(out_dir).resolve()
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.path = self.out_dir / MANIFEST_NAME
        self.state_path = self.out_dir / STATE_NAME
        self.rows: list[dict[str, str]] = self._load()
        self.known_ids = {r["source_id"] for r in self.rows if r.get("source_id")}
        self.known_sha = {r["sha256"] for r in self.rows if r.get("sha256")}
        self.rejected: Counter[str] = Counter()

    def __len__(self) -> int:
        return len(self.rows)

    def has(self, source_id: str) -> bool:
        return source_id in self.known_ids

    def add(self, candidate: Candidate, data: bytes) -> dict[str, str] | None:
        """Validate, store and record one image; ``None`` (and a counted reason) if rejected."""
        try:
            decoded = read_image(data, limits=IntakeLimits(min_side=MIN_SIDE))
        except ImageError as exc:
            self.rejected[exc.code] += 1
            return None
        if decoded.sha256 in self.known_sha:
            self.rejected["duplicate_image"] += 1  # the same photo under two records
            self.known_ids.add(candidate.source_id)
            return None
        folder = self.out_dir / "images" / _safe(candidate.source)
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / (_safe(candidate.source_id) + _SUFFIX.get(decoded.format, ".img"))
        tmp = target.with_name(target.name + ".part")
        tmp.write_bytes(data)
        os.replace(tmp, target)  # the row below only ever names a complete file
        row = {
            "path": target.relative_to(self.out_dir).as_posix(),
            "label": candidate.label,
            "split": "",
            "group": candidate.group,
            "source": candidate.source,
            "licence": candidate.licence,
            "taxon": candidate.taxon,
            "view": candidate.view,
            "kind": "photo",
            "width": str(decoded.width),
            "height": str(decoded.height),
            "sha256": decoded.sha256,
            "gsd_m": "",
            "parent": "",
            "crop": "",
            "source_path": candidate.source_path,
            "commit": candidate.commit,
            "attribution": candidate.attribution,
            "url": candidate.url,
            "source_id": candidate.source_id,
        }
        self._append(row)
        self.rows.append(row)
        self.known_ids.add(candidate.source_id)
        self.known_sha.add(decoded.sha256)
        return row

    # -- resumable state (a cursor into the source's paging) ---------------------------------
    def load_state(self) -> dict[str, Any]:
        try:
            return json.loads(self.state_path.read_text("utf-8"))
        except (OSError, json.JSONDecodeError):
            return {}

    def save_state(self, state: dict[str, Any]) -> None:
        tmp = self.state_path.with_name(self.state_path.name + ".tmp")
        tmp.write_text(json.dumps(state, indent=2, sort_keys=True), "utf-8")
        os.replace(tmp, self.state_path)

    def summary(self) -> dict[str, Any]:
        return {
            "images": len(self.rows),
            "groups": len({r["group"] for r in self.rows}),
            "by_label": dict(Counter(r["label"] for r in self.rows)),
            "by_licence": dict(Counter(r["licence"] for r in self.rows)),
            "rejected": dict(self.rejected),
            "manifest": str(self.path),
        }

    # -- file handling ----------------------------------------------------------------------
    def _load(self) -> list[dict[str, str]]:
        if not self.path.exists():
            with open(self.path, "w", newline="", encoding="utf-8") as handle:
                csv.writer(handle, lineterminator="\n").writerow(MANIFEST_COLUMNS)
            return []
        raw = self.path.read_bytes()
        if raw and not raw.endswith(b"\n"):
            # Interrupted in the middle of a row: drop the partial line, keep the rest.
            raw = raw[: raw.rfind(b"\n") + 1]
            self.path.write_bytes(raw)
        with open(self.path, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            if tuple(reader.fieldnames or ()) != MANIFEST_COLUMNS:
                raise ValueError(
                    f"{self.path} was not written by a plantscout importer (columns differ); "
                    "import into an empty folder"
                )
            rows = list(reader)
        present = [row for row in rows if (self.out_dir / row["path"]).is_file()]
        if len(present) != len(rows):
            # Someone deleted images: forget their rows so the next run fetches them again.
            tmp = self.path.with_name(self.path.name + ".tmp")
            with open(tmp, "w", newline="", encoding="utf-8") as handle:
                writer = csv.DictWriter(
                    handle, fieldnames=list(MANIFEST_COLUMNS), lineterminator="\n"
                )
                writer.writeheader()
                writer.writerows(present)
            os.replace(tmp, self.path)
        return present

    def _append(self, row: dict[str, str]) -> None:
        with open(self.path, "a", newline="", encoding="utf-8") as handle:
            csv.DictWriter(handle, fieldnames=list(MANIFEST_COLUMNS), lineterminator="\n").writerow(
                row
            )
            handle.flush()
            os.fsync(handle.fileno())


def _safe(text: str) -> str:
    """A file-name-safe version of an id (``inaturalist:photo:12`` -> ``inaturalist_photo_12``)."""
    return "".join(c if c.isalnum() or c in "-." else "_" for c in text).strip("._") or "x"
