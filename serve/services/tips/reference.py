"""Choosing reference photos for the teaching pages from a dataset manifest.

Only photos whose licence allows showing them to the public are taken (by default MIT, CC BY,
CC BY-SA, CC0 or public domain; "none stated", research-only and web-scraped images never
are), from as many different groups (plants, sources) as there are, and each is re-encoded
small (longest side 800 px, JPEG) with its metadata dropped. ``teaching.json`` keeps, per
photo, the label, taxon, source, path in the source and licence, which the pages print under
it. The office should still read the licences it publishes under; ``--licence`` narrows the
rule.
"""

from __future__ import annotations

import csv
import json
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps

from .teaching import INDEX

DEFAULT_ALLOW = r"^\s*(MIT\b|CC[ -]?BY\b|CC[ -]?BY-SA\b|CC0\b|public domain)"
DENY = re.compile(
    r"none stated|not stated|no licen|no separate data|research|unknown|web-scraped|copyright"
    r"|owners keep",
    re.I,
)
DEFAULT_LABELS = ("opium_poppy", "cannabis", "ornamental_poppy", "cannabis_lookalike")
MAX_SIDE = 800


@dataclass(frozen=True)
class Built:
    chosen: dict[str, int]  # label -> photos written
    refused_licence: int  # rows of the wanted labels whose licence does not allow it


def build_teaching(
    manifest: Path,
    out: Path,
    *,
    labels: tuple[str, ...] = DEFAULT_LABELS,
    per_label: int = 6,
    allow: str = DEFAULT_ALLOW,
) -> Built:
    rule = re.compile(allow, re.I)
    root = manifest.parent
    with manifest.open(newline="", encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r.get("label") in labels]
    usable = [
        r
        for r in rows
        if r.get("kind", "photo") == "photo"
        and rule.search(r.get("licence") or "")
        and not DENY.search(r.get("licence") or "")
    ]
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.jpg"):
        old.unlink()
    entries = []
    chosen: dict[str, int] = {}
    for label in labels:
        by_group: dict[str, list[dict[str, str]]] = defaultdict(list)
        for row in sorted(
            (r for r in usable if r["label"] == label), key=lambda r: r.get("sha256", "")
        ):
            by_group[row.get("group") or row["path"]].append(row)
        picked: list[dict[str, str]] = []
        groups = [by_group[g] for g in sorted(by_group)]
        while len(picked) < per_label and any(groups):  # one per group, round robin
            for group in groups:
                if group and len(picked) < per_label:
                    picked.append(group.pop(0))
        for index, row in enumerate(picked):
            name = f"{label}-{index + 1:02d}-{(row.get('sha256') or '')[:12] or index}.jpg"
            with Image.open(root / row["path"]) as image:
                image = ImageOps.exif_transpose(image).convert("RGB")
                image.thumbnail((MAX_SIDE, MAX_SIDE))
                image.save(out / name, "JPEG", quality=85, optimize=True)
            entries.append(
                {
                    "file": name,
                    "label": label,
                    "taxon": row.get("taxon") or "",
                    "source": row.get("source") or "",
                    "source_path": row.get("source_path") or row["path"],
                    "commit": row.get("commit") or "",
                    "licence": row.get("licence") or "",
                    "sha256_original": row.get("sha256") or "",
                }
            )
        chosen[label] = len(picked)
    (out / INDEX).write_text(
        json.dumps(
            {"built_from": manifest.name, "licence_rule": allow, "photos": entries},
            ensure_ascii=False,
            indent=1,
        ),
        encoding="utf-8",
    )
    return Built(chosen=chosen, refused_licence=len(rows) - len(usable))
