"""Reviewed records + base dataset: the base keeps its splits, new groups are split apart."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from plantscout.datasets import BuildOptions, build_dataset, read_records
from plantscout.datasets.importers.cli import import_group
from plantscout.datasets.records import COLUMNS, Record


@pytest.fixture()
def base(tmp_path: Path, plants_v1: Path, plants_manifest_rows) -> Path:
    """A small built dataset from real plants-v1 photos (12 groups of 2)."""
    rows = [r for r in plants_manifest_rows if r["kind"] == "photo"]
    chosen, per_group = [], {}
    for row in rows:
        if row["label"] not in ("cannabis", "other_plant", "ornamental_poppy"):
            continue
        if len(per_group.setdefault(row["group"], [])) < 2 and len(per_group) <= 12:
            per_group[row["group"]].append(row)
            chosen.append(row)
    records = [
        Record(
            path=plants_v1 / r["path"],
            label=r["label"],
            group=r["group"],
            source=r["source"],
            licence=r["licence"],
            sha256=r["sha256"],
        )
        for r in chosen
    ]
    build_dataset(records, tmp_path / "base", options=BuildOptions(workers=1))
    return tmp_path / "base"


def _export(tmp_path: Path, real_photo, base_manifest: Path) -> Path:
    """A zip in the layout of GET /v1/exports/training.zip (manifest.csv + images/)."""
    zipped = tmp_path / "training.zip"
    rows = []
    with zipfile.ZipFile(zipped, "w") as archive:

        def add(data: bytes, label: str, group: str) -> None:
            import hashlib

            sha = hashlib.sha256(data).hexdigest()
            path = f"images/{sha}.jpg"
            if path not in archive.namelist():
                archive.writestr(path, data)
            rows.append(
                {
                    **dict.fromkeys(COLUMNS, ""),
                    "path": path,
                    "label": label,
                    "group": f"inspection-{group}",
                    "source": "plantscout-inspections",
                    "licence": "internal",
                    "kind": "photo",
                    "view": "unknown",
                    "sha256": sha,
                }
            )

        # Stand-in pixels for opium poppy (plants-v1 has none): 6 inspections of 2 photos.
        for i in range(6):
            for j in range(2):
                add(
                    real_photo("ornamental_poppy", 60 + 2 * i + j).read_bytes(),
                    "opium_poppy",
                    f"p{i}",
                )
        already = read_records(base_manifest)[0]
        add(already.path.read_bytes(), already.label, "again")  # exported twice: skipped
        add(real_photo("ornamental_poppy", 60).read_bytes(), "opium_poppy", "p0-dup")
        tiny = io.BytesIO()
        Image.new("RGB", (40, 30), (10, 200, 10)).save(tiny, "JPEG")
        add(tiny.getvalue(), "cannabis", "tiny")
        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=list(COLUMNS), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        archive.writestr("manifest.csv", text.getvalue())
    return zipped


def test_base_splits_are_kept_and_new_groups_split(tmp_path, base, real_photo) -> None:
    base_manifest = base / "manifest.csv"
    before = {str(r.path): r.split for r in read_records(base_manifest)}
    export = _export(tmp_path, real_photo, base_manifest)
    result = CliRunner().invoke(
        import_group,
        [
            "reviews",
            "--base",
            str(base),
            "--export",
            str(export),
            "--out",
            str(tmp_path / "ext"),
            "--workers",
            "1",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    records = read_records(tmp_path / "ext" / "manifest.csv")
    old = {str(r.path): r.split for r in records if str(r.path) in before}
    assert old == before  # not one base image moved split
    new = [r for r in records if r.source == "plantscout-inspections"]
    assert {r.label for r in new} == {"opium_poppy"} and len(new) == 12
    splits = {}
    for record in new:
        splits.setdefault(record.group, set()).add(record.split)
    assert all(len(s) == 1 for s in splits.values())  # an inspection never straddles
    assert "test" in {s for v in splits.values() for s in v}  # new data is tested on too
    skipped = summary["skipped"]
    assert skipped["already in the base dataset"] == 1
    assert skipped["rejected: image_too_small"] == 1
    # The exact duplicate from another inspection collapses into one copy, and its group
    # merges with the original's instead of straddling splits.
    assert skipped["duplicate within the export"] == 1
    info = json.loads((tmp_path / "ext" / "dataset.json").read_text())
    assert info["extends"]["splits_kept"] is True
    # What `plantscout train` reads (training.data.load_splits) accepts it, new label included.
    from plantscout.training.config import DataConfig
    from plantscout.training.data import load_splits

    labels = (*sorted({r.label for r in records}),)
    splits = load_splits(DataConfig(manifest=str(tmp_path / "ext" / "manifest.csv"), labels=labels))
    assert "opium_poppy" in {r.label for r in splits["train"].records}
    assert info["counts"] == {"records": len(records), "base": len(before), "new": 12}


def test_a_zip_that_climbs_out_is_refused(tmp_path, base) -> None:
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as archive:
        archive.writestr("../escape.txt", "x")
        archive.writestr("manifest.csv", ",".join(COLUMNS) + "\n")
    result = CliRunner().invoke(
        import_group,
        ["reviews", "--base", str(base), "--export", str(evil), "--out", str(tmp_path / "o")],
    )
    assert result.exit_code != 0 and "unsafe member" in result.output
    assert not (tmp_path / "escape.txt").exists()


def test_an_unbuilt_base_is_refused(tmp_path, plants_v1) -> None:
    result = CliRunner().invoke(
        import_group,
        [
            "reviews",
            "--base",
            str(plants_v1 / "manifest.csv"),
            "--export",
            str(plants_v1 / "manifest.csv"),
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert result.exit_code != 0 and "not a built dataset" in result.output


def test_an_import_extends_the_base_too(tmp_path, base, real_photo) -> None:
    """`import extend`: an importer's manifest (extra attribution columns and all) is added
    without re-splitting the base, which is how public opium-poppy photos join training."""
    from plantscout.datasets.importers.manifest import Candidate, ImportManifest

    imported = ImportManifest(tmp_path / "inat")
    for i in range(6):
        candidate = Candidate(
            source_id=f"inaturalist:photo:{i}",
            url="",
            label="opium_poppy",
            taxon="Papaver somniferum",
            group=f"inat-observer-{i % 3}",
            licence="CC-BY",
            attribution=f"(c) observer {i % 3}",
            source="inaturalist.org",
            source_path="",
        )
        imported.add(candidate, real_photo("ornamental_poppy", 90 + i).read_bytes())
    result = CliRunner().invoke(
        import_group,
        [
            "extend",
            "--base",
            str(base),
            "--export",
            str(imported.path),
            "--out",
            str(tmp_path / "ext"),
            "--workers",
            "1",
        ],
    )
    assert result.exit_code == 0, result.output
    new = [r for r in read_records(tmp_path / "ext" / "manifest.csv") if r.label == "opium_poppy"]
    assert len(new) == 6 and {r.licence for r in new} == {"CC-BY"}
    assert len({r.group for r in new}) == 3
