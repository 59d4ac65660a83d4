"""GBIF importer against the local fake API: taxon match, per-media licences, attribution."""

from __future__ import annotations

import csv
from pathlib import Path

from click.testing import CliRunner

from plantscout.datasets.importers.cli import import_group
from plantscout.datasets.records import read_records


def _run(api, out: Path, *extra: str):
    return CliRunner().invoke(
        import_group,
        [
            "gbif",
            "--taxon",
            "Papaver rhoeas",
            "--limit",
            "50",
            "--out",
            str(out),
            "--base-url",
            f"{api.base}/v1/",
            "--delay",
            "0",
            *extra,
        ],
    )


def _rows(out: Path) -> dict[str, dict[str, str]]:
    with open(out / "manifest.csv", newline="", encoding="utf-8") as handle:
        return {r["source_id"]: r for r in csv.DictReader(handle)}


def test_occurrence_media_licence_filtered_per_image(fake_api, tmp_path) -> None:
    result = _run(fake_api, tmp_path)
    assert result.exit_code == 0, result.output
    rows = _rows(tmp_path)
    assert set(rows) == {
        "gbif:occurrence:4001:0",
        "gbif:occurrence:4002:1",  # media 0 is CC BY-NC; media 1 inherits the record's CC BY
        "gbif:occurrence:4003:1",  # media 0 is a sound recording
        "gbif:occurrence:4005:0",
    }
    assert rows["gbif:occurrence:4002:1"]["licence"] == "CC-BY-4.0"
    assert rows["gbif:occurrence:4003:1"]["licence"] == "CC0-1.0"
    assert rows["gbif:occurrence:4005:0"]["licence"] == "CC-BY-SA-4.0"
    assert rows["gbif:occurrence:4001:0"]["attribution"].startswith("© Anna K., CC-BY-4.0")
    assert "via iNaturalist" in rows["gbif:occurrence:4001:0"]["attribution"]
    assert rows["gbif:occurrence:4002:1"]["group"] == "gbif-observer-jean-dupont"
    assert rows["gbif:occurrence:4001:0"]["source_path"] == "https://www.gbif.org/occurrence/4001"
    assert "/media/4002-a.jpg" not in fake_api.media_hits  # never fetched: wrong licence
    # The name was resolved to GBIF's key, and specimens were excluded at the source.
    assert any(p.startswith("/v1/species/match") for p in fake_api.log)
    searches = [p for p in fake_api.log if p.startswith("/v1/occurrence/search")]
    assert searches and all("taxonKey=3188736" in p for p in searches)
    assert all("basisOfRecord=HUMAN_OBSERVATION" in p for p in searches)
    assert len(read_records(tmp_path / "manifest.csv")) == 4


def test_non_commercial_when_asked(fake_api, tmp_path) -> None:
    assert _run(fake_api, tmp_path, "--licence", "open,cc-by-nc").exit_code == 0
    rows = _rows(tmp_path)
    assert "gbif:occurrence:4002:0" in rows and "gbif:occurrence:4004:0" in rows
    assert rows["gbif:occurrence:4004:0"]["licence"] == "CC-BY-NC-4.0"


def test_unknown_label_is_refused_not_invented(fake_api, tmp_path) -> None:
    result = _run(fake_api, tmp_path, "--label", "papaver")
    assert result.exit_code != 0 and "not in the taxonomy" in result.output
