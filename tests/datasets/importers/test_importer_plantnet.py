"""Pl@ntNet-300K importer on a small archive built in the real layout (folder and zip)."""

from __future__ import annotations

import csv
import json
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from plantscout.datasets.importers.cli import import_group
from plantscout.datasets.records import read_records

SOMNIFERUM, RHOEAS, OTHER = "1363130", "1363128", "1355868"


@pytest.fixture()
def archive(tmp_path: Path, real_photo) -> Path:
    """``plantnet_300K/`` with 5 P. somniferum, 4 P. rhoeas and 2 other images.

    plants-v1 has no opium poppy, so the P. somniferum files are other real plant photos:
    the importer never looks at pixels to decide a label, only at the archive's metadata.
    """
    root = tmp_path / "plantnet_300K"
    metadata: dict[str, dict[str, str]] = {}
    plan = [
        (SOMNIFERUM, "other_plant", ["train", "train", "val", "test", "train"]),
        (RHOEAS, "ornamental_poppy", ["train", "val", "train", "test"]),
        (OTHER, "other_plant", ["train", "train"]),
    ]
    authors = ["Jean Dupont", "Maria Rossi", "Jean Dupont", "Li Wei", "Ana Souza"]
    licences = ["cc-by-sa", "cc-by-sa", "cc-by", "cc-by-nc", "cc-by-sa"]
    counter = 0
    for species, photo_label, splits in plan:
        for index, split in enumerate(splits):
            image_id = f"{species[-3:]}{index:03d}abcdef{counter:02d}"
            folder = root / "images" / split / species
            folder.mkdir(parents=True, exist_ok=True)
            photo = real_photo(photo_label, 40 + counter)
            (folder / f"{image_id}.jpg").write_bytes(photo.read_bytes())
            metadata[image_id] = {
                "species_id": species,
                "obs_id": f"obs{counter // 2}",
                "organ": "flower" if index % 2 == 0 else "habit",
                "is_shareable": True,
                "v1_id": "",
                "author": authors[index % len(authors)],
                "license": licences[index % len(licences)],
                "split": split,
            }
            counter += 1
    names = {
        SOMNIFERUM: "Papaver somniferum L.",
        RHOEAS: "Papaver rhoeas L.",
        OTHER: "Lactuca serriola L.",
    }
    (root / "plantnet300K_metadata.json").write_text(json.dumps(metadata), "utf-8")
    (root / "plantnet300K_species_id_2_name.json").write_text(json.dumps(names), "utf-8")
    return root


def _run(archive: Path, out: Path, *extra: str):
    return CliRunner().invoke(
        import_group, ["plantnet300k", "--archive", str(archive), "--out", str(out), *extra]
    )


def _rows(out: Path) -> list[dict[str, str]]:
    with open(out / "manifest.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_species_become_labels_with_licence_and_author(archive: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = _run(archive, out, "--species", SOMNIFERUM, "--species", RHOEAS)
    assert result.exit_code == 0, result.output
    rows = _rows(out)
    labels = [r["label"] for r in rows]
    # Index 3 of each species is CC BY-NC: excluded by the default (open) filter.
    assert labels.count("opium_poppy") == 4 and labels.count("ornamental_poppy") == 3
    assert not any(r["taxon"].startswith("Lactuca") for r in rows)
    somniferum = [r for r in rows if r["label"] == "opium_poppy"]
    assert all(r["taxon"].startswith("Papaver somniferum") for r in somniferum)
    assert {r["licence"] for r in rows} <= {"CC-BY", "CC-BY-SA"}
    assert all("Pl@ntNet" in r["attribution"] and "©" in r["attribution"] for r in rows)
    dupont = [r for r in somniferum if "Jean Dupont" in r["attribution"]]
    assert len(dupont) == 2 and {r["group"] for r in dupont} == {"plantnet-author-jean-dupont"}
    assert all(r["source_path"].startswith("plantnet_300K/images/") for r in rows)
    assert {r["view"] for r in rows} == {"closeup", "ground"}  # organ "habit" = whole plant
    assert len(read_records(out / "manifest.csv")) == len(rows)


def test_zip_archive_limit_and_resume(archive: Path, tmp_path: Path) -> None:
    zipped = tmp_path / "plantnet_300K.zip"
    with zipfile.ZipFile(zipped, "w") as handle:
        for path in archive.rglob("*"):
            if path.is_file():
                handle.write(path, path.relative_to(archive.parent).as_posix())
    out = tmp_path / "out"
    assert (
        _run(zipped, out, "--species", f"{SOMNIFERUM}=opium_poppy", "--limit", "2").exit_code == 0
    )
    first = _rows(out)
    assert len(first) == 2
    assert _run(zipped, out, "--species", SOMNIFERUM, "--limit", "2").exit_code == 0
    assert _rows(out) == first  # rerun: nothing new, nothing duplicated
    assert _run(zipped, out, "--species", SOMNIFERUM, "--limit", "10").exit_code == 0
    rows = _rows(out)
    assert len(rows) == 4 and rows[:2] == first
    assert len({r["sha256"] for r in rows}) == 4


def test_observation_grouping_and_split_choice(archive: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = _run(
        archive, out, "--species", SOMNIFERUM, "--split", "train", "--group-by", "observation"
    )
    assert result.exit_code == 0, result.output
    rows = _rows(out)
    assert len(rows) == 3  # train images only
    assert all(r["group"].startswith("plantnet-obs-obs") for r in rows)


def test_errors_are_clear(archive: Path, tmp_path: Path) -> None:
    result = _run(archive, tmp_path / "o", "--species", "999")
    assert result.exit_code != 0 and "999 is not in" in result.output
    result = _run(archive, tmp_path / "o", "--species", "poppy")
    assert result.exit_code != 0 and "species id" in result.output
    result = _run(tmp_path / "o", tmp_path / "o2", "--species", SOMNIFERUM)
    assert result.exit_code != 0 and "plantnet300K_metadata.json" in result.output
    result = _run(archive, tmp_path / "o", "--species", "1355868")
    assert result.exit_code != 0 and "--label" in result.output


def test_dataset_builder_accepts_the_import(archive: Path, tmp_path: Path) -> None:
    """What `plantscout train` reads is the builder's output: the import must go through it."""
    from plantscout.datasets.build import build_dataset
    from plantscout.datasets.records import read_records

    out = tmp_path / "out"
    assert _run(archive, out, "--species", SOMNIFERUM, "--species", RHOEAS).exit_code == 0
    built = build_dataset(read_records(out / "manifest.csv"), tmp_path / "built", options=_opts())
    assert built.info["counts"]["rejected"] == 0
    assert {r.label for r in built.records} == {"opium_poppy", "ornamental_poppy"}
    by_group: dict[str, set[str]] = {}
    for record in built.records:
        by_group.setdefault(record.group, set()).add(record.split)
    assert all(len(splits) == 1 for splits in by_group.values())  # groups never straddle


def _opts():
    from plantscout.datasets.build import BuildOptions

    return BuildOptions(workers=1)
