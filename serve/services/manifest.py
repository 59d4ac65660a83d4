"""Reviewed inspections as labelled training data, in the dataset manifest format.

The columns are those of a built manifest (``plantscout.datasets.records.COLUMNS``, described
in ``datasets/README.md``), so ``plantscout datasets build`` reads the export like any other
source. One row per photo of an inspection whose review implies a label, except photos too
dark or too small to learn from. Photos the model called "no plant" stay: on a record a
reviewer confirmed, those are exactly the model's mistakes worth learning from. ``group`` is the inspection id: the
photos of one plant must never straddle train and test. Paths are ``images/<sha256>.<ext>``,
relative to the manifest, as laid out in the zip export.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
import zipfile
from collections.abc import Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from plantscout.datasets.records import COLUMNS
from plantscout.model import TAXONOMY

from ..models import Inspection
from ..photos import PhotoStore
from .filters import InspectionFilter

SOURCE = "plantscout-inspections"
_POOR_QUALITY = {"too_dark", "too_small"}
_EXT = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "HEIF": "heic"}


def _view(geotags: dict[str, Any] | None) -> tuple[str, str]:
    """(view, kind): frames with drone attitude data are aerial drone frames."""
    tags = geotags or {}
    if tags.get("relative_altitude_m") is not None or tags.get("gimbal_pitch") is not None:
        return "aerial", "drone_frame"
    return "unknown", "photo"


def rows(
    factory: sessionmaker[Session], flt: InspectionFilter, licence: str
) -> Iterator[dict[str, str]]:
    query = flt.apply(select(Inspection)).where(Inspection.review_label.is_not(None))
    last = 0
    while True:
        with factory() as session:
            batch = list(
                session.scalars(
                    query.where(Inspection.seq > last).order_by(Inspection.seq).limit(500)
                )
            )
            if not batch:
                return
            for inspection in batch:
                label = inspection.review_label or ""
                taxon = TAXONOMY[label].scientific_name if label in TAXONOMY else ""
                for photo in inspection.photos:
                    if (photo.score or {}).get("unusable_reason") in _POOR_QUALITY:
                        continue
                    view, kind = _view(photo.geotags)
                    yield {
                        "path": f"images/{photo.sha256}.{_EXT.get(photo.format, 'bin')}",
                        "label": label,
                        "split": "",
                        "group": f"inspection-{inspection.id}",
                        "source": SOURCE,
                        "licence": licence,
                        "taxon": taxon,
                        "view": view,
                        "kind": kind,
                        "width": str(photo.width),
                        "height": str(photo.height),
                        "sha256": photo.sha256,
                        "gsd_m": "",
                        "parent": "",
                        "crop": "",
                        "source_path": f"inspections/{inspection.id}/photos/{photo.position}",
                        "commit": "",
                    }
            last = batch[-1].seq


def write_csv(records: Iterator[dict[str, str]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(COLUMNS), lineterminator="\n")
    writer.writeheader()
    yield buffer.getvalue()
    for record in records:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(record)
        yield buffer.getvalue()


def write_zip(records: Iterator[dict[str, str]], store: PhotoStore) -> str:
    """A zip (manifest.csv + images/) in a temporary file; the caller deletes it."""
    fd, path = tempfile.mkstemp(prefix="plantscout-training-", suffix=".zip")
    os.close(fd)
    seen: set[str] = set()
    try:
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
            text = io.StringIO()
            writer = csv.DictWriter(text, fieldnames=list(COLUMNS), lineterminator="\n")
            writer.writeheader()
            for record in records:
                writer.writerow(record)
                if record["path"] in seen:
                    continue
                seen.add(record["path"])
                archive.write(store.path_for(record["sha256"]), record["path"])
            archive.writestr("manifest.csv", text.getvalue())
    except BaseException:
        os.unlink(path)
        raise
    return path
