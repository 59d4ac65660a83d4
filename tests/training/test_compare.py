"""``plantscout evaluate CANDIDATE --compare CURRENT``: per-label differences on the same images."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from plantscout.datasets import read_records
from plantscout.model.testing import TINY_LABELS, build_tiny_bundle
from plantscout.training.compare import compare_scored, format_comparison
from plantscout.training.evaluate import score_records
from plantscout.training.evaluate_cli import app


@pytest.fixture(scope="module")
def test_manifest(tmp_path_factory, plants_v1: Path, plants_manifest_rows) -> Path:
    """Real photos marked as a test split (up to 4 per label and source, 3 labels)."""
    rows, counts = [], {}
    for row in plants_manifest_rows:
        label = row["label"]
        if row["kind"] != "photo" or label not in ("cannabis", "ornamental_poppy", "other_plant"):
            continue
        key = (label, row["source"])
        if counts.get(key, 0) >= 4 or len({k for k in counts if k[0] == label}) > 2:
            continue
        counts[key] = counts.get(key, 0) + 1
        rows.append(
            {
                "path": str(plants_v1 / row["path"]),
                "label": label,
                "split": "test",
                "group": row["group"],
                "source": row["source"],
            }
        )
    path = tmp_path_factory.mktemp("cmp") / "manifest.csv"
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture(scope="module")
def bundles(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("cmp-bundles")
    current = build_tiny_bundle(root / "current", version="1.0.0")
    candidate = build_tiny_bundle(
        root / "candidate",
        version="1.1.0",
        labels=(*TINY_LABELS, "opium_poppy"),
        thresholds={
            "cannabis": {"alert": 0.5, "review": 0.3},
            "opium_poppy": {"alert": 0.9, "review": 0.5},
        },
    )
    return current, candidate


def test_fixed_minus_broken_is_the_change_in_correct_images(test_manifest, bundles) -> None:
    records = read_records(test_manifest)
    current = score_records(bundles[0], records, threads=1)
    candidate = score_records(bundles[1], records, threads=1)
    result = compare_scored(current, candidate)
    assert result["images"] == len(records) >= 20
    for entry in result["per_label"].values():
        change = entry["candidate"]["correct"] - entry["current"]["correct"]
        assert change == entry["fixed"] - entry["broken"]
        assert sum(entry["current"]["verdicts"].values()) == entry["images"]
    assert result["labels"]["candidate"][-1] == "opium_poppy"
    assert set(result["species"]) == {"cannabis", "opium_poppy"}
    cannabis = result["species"]["cannabis"]
    # A lower alert threshold can only keep or raise alerts on the same logits.
    assert cannabis["candidate"]["alert_recall"] >= cannabis["current"]["alert_recall"]
    text = format_comparison(result, "current", "candidate")
    assert "cannabis" in text and "->" in text
    with pytest.raises(ValueError, match="same images"):
        compare_scored(current, score_records(bundles[1], records[:-1], threads=1))


def test_evaluate_cli_compare(test_manifest, bundles, tmp_path) -> None:
    out = tmp_path / "eval"
    result = CliRunner().invoke(
        app,
        [
            str(bundles[1]),
            "--data",
            str(test_manifest),
            "--compare",
            str(bundles[0]),
            "--no-plots",
            "--out",
            str(out),
            "--threads",
            "1",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "current = tiny-test 1.0.0" in result.output
    assert "candidate = tiny-test 1.1.0" in result.output
    saved = json.loads((out / "compare.json").read_text())
    assert saved["images"] >= 20 and "ornamental_poppy" in saved["per_label"]
