"""Manifests: the plants-v1 format, the built format, folder trees, and the content hash."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from plantscout.datasets import COLUMNS, Record, manifest_hash, read_records, write_records
from plantscout.datasets.folders import records_from_folder


def test_reads_the_plants_v1_manifest(plants_v1: Path, plants_manifest_rows) -> None:
    records = read_records(plants_v1 / "manifest.csv")
    assert len(records) == len(plants_manifest_rows) == 5556
    first = records[0]
    assert first.path.is_absolute() and first.path.is_file()
    assert first.label in {"cannabis", "ornamental_poppy", "cannabis_lookalike", "other_plant"}
    assert {r.kind for r in records} == {"photo", "drone_frame"}
    assert all(r.sha256 and r.group and r.source for r in records)


def test_built_manifest_round_trips_with_relative_paths(tmp_path: Path, real_photo) -> None:
    photo = real_photo("cannabis")
    record = Record(path=photo, label="cannabis", split="val", group="g1", gsd_m=0.01)
    out = write_records(tmp_path / "data" / "manifest.csv", [record])
    header = out.read_text("utf-8").splitlines()[0].split(",")
    assert tuple(header) == COLUMNS
    assert not out.read_text("utf-8").splitlines()[1].startswith("/")  # relative path
    (back,) = read_records(out)
    assert back.path == photo.resolve() and back.split == "val" and back.gsd_m == 0.01


def test_minimal_manifest_needs_only_path_and_label(tmp_path: Path, real_photo) -> None:
    manifest = tmp_path / "m.csv"
    manifest.write_text(f"path,label\n{real_photo('background')},background\n", "utf-8")
    (record,) = read_records(manifest)
    assert record.label == "background" and record.kind == "photo" and record.split == ""
    manifest.write_text("path\nx.jpg\n", "utf-8")
    with pytest.raises(ValueError, match="label"):
        read_records(manifest)


def test_content_hash_ignores_location_but_not_labels(tmp_path: Path, real_photo) -> None:
    a = Record(path=real_photo("cannabis"), label="cannabis", split="train", group="g", sha256="ab")
    moved = a.with_(path=tmp_path / "elsewhere.jpg")
    assert manifest_hash([a]) == manifest_hash([moved])
    assert manifest_hash([a]) != manifest_hash([a.with_(label="other_plant")])
    assert manifest_hash([a]) != manifest_hash([a.with_(split="test")])


def test_folder_tree_labels_groups_and_label_map(tmp_path: Path, real_photo) -> None:
    root = tmp_path / "mine"
    (root / "cannabis" / "plot-7").mkdir(parents=True)
    (root / "poppy").mkdir(parents=True)
    shutil.copy(real_photo("cannabis", 0), root / "cannabis" / "plot-7" / "a.jpg")
    shutil.copy(real_photo("cannabis", 1), root / "cannabis" / "plot-7" / "b.jpg")
    shutil.copy(real_photo("ornamental_poppy", 0), root / "poppy" / "c.jpg")
    (root / "notes.txt").write_text("ignored", "utf-8")
    with pytest.raises(ValueError, match="poppy"):
        records_from_folder(root)  # "poppy" is not a label: no silent new class
    records = records_from_folder(root, label_map={"poppy": "opium_poppy"}, licence="own photos")
    by_name = {r.path.name: r for r in records}
    assert by_name["a.jpg"].group == by_name["b.jpg"].group  # one plot = one group
    assert by_name["c.jpg"].label == "opium_poppy"
    assert by_name["c.jpg"].group != by_name["a.jpg"].group
    assert all(r.licence == "own photos" and r.source == "mine" for r in records)
