"""Build records from a folder tree ``LABEL/…/*.jpg`` (a user's own collection).

This is how photos the shared set lacks — above all *Papaver somniferum* — get into training:
put them under ``opium_poppy/`` and build. Photos of the same plant, field or flight belong in
one sub-folder: the sub-folder becomes the group, so they never straddle train and test.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from plantscout.model import TAXONOMY

from .records import Record

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".heic", ".heif"})


def records_from_folder(
    root: str | Path,
    *,
    source: str | None = None,
    licence: str = "not stated",
    label_map: Mapping[str, str] | None = None,
    kind: str = "photo",
    gsd_m: float | None = None,
) -> list[Record]:
    """One record per image below ``root``; the first folder level names the label.

    ``label_map`` renames folder names (``{"poppy": "opium_poppy"}``). A folder whose label
    is not in the taxonomy is an error, not a silent new class: a typo must not create one.
    """
    root = Path(root).resolve()
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a folder")
    source = source or root.name
    mapping = dict(label_map or {})
    records: list[Record] = []
    unknown: set[str] = set()
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.suffix.lower() not in IMAGE_SUFFIXES:
            continue
        relative = path.relative_to(root)
        if len(relative.parts) < 2:
            continue  # files directly under root have no label folder
        folder = relative.parts[0]
        label = mapping.get(folder, folder)
        if label not in TAXONOMY:
            unknown.add(folder)
            continue
        # label/plant-7/a.jpg -> group "plant-7"; label/a.jpg -> its own group.
        inner = relative.parts[1:-1]
        group = f"{source}:{label}/{'/'.join(inner)}" if inner else f"{source}:{relative}"
        records.append(
            Record(
                path=path,
                label=label,
                group=group,
                source=source,
                licence=licence,
                taxon=TAXONOMY[label].scientific_name,
                kind=kind,
                view="aerial" if kind == "drone_frame" else "unknown",
                gsd_m=gsd_m,
                source_path=relative.as_posix(),
            )
        )
    if unknown:
        known = ", ".join(sorted(TAXONOMY))
        raise ValueError(
            f"{root}: folder(s) {', '.join(sorted(unknown))} are not labels ({known}); "
            "rename them or pass a label map (FOLDER=LABEL)"
        )
    return records
