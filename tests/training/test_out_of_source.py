"""The out-of-source protocol end to end on the tiny real dataset: train (with the folds),
export calibrated on out-of-source predictions, then ``evaluate --protocol out-of-source
--check-card`` refits every fold and must reproduce the card's numbers exactly.

About a minute on 2 cores (one tiny head per fold, two folds per source at most): the only
test that proves the protocol, the familiarity gate and the card agree with each other.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from plantscout.datasets import Record, read_records
from plantscout.model import load_bundle
from plantscout.training.cli import export_app, train_app
from plantscout.training.evaluate_cli import app as evaluate_app
from plantscout.training.families import (
    family_of,
    fold_index,
    make_folds,
    protocol_families,
)

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "training" / "configs" / "lite0-head.toml"
PROTOCOL = [
    "calibration.fit_on=out_of_source",
    "open_set.label=cannabis",
    "open_set.k=2",
    "out_of_source.max_folds_per_source=2",
    "model.train_blocks=0",
]


@pytest.fixture(scope="module")
def oos_export(tmp_path_factory, tiny_dataset: Path, tiny_overrides) -> Path:
    root = tmp_path_factory.mktemp("oos")
    args = [str(CONFIG), "--run-dir", str(root / "run"), "--quiet"]
    for item in [*tiny_overrides(tiny_dataset, root / "cache"), *PROTOCOL]:
        args += ["--set", item]
    trained = CliRunner().invoke(train_app, args)
    assert trained.exit_code == 0, trained.output
    assert "out-of-source fold" in trained.output
    assert (root / "run" / "out_of_source.npz").is_file()
    exported = CliRunner().invoke(
        export_app, [str(root / "run"), "--parity-images", "5", "--no-plots", "--quiet"]
    )
    assert exported.exit_code == 0, exported.output
    assert "missing or stale" not in exported.output  # export reuses train's predictions
    return root / "run" / "bundle"


def test_every_family_is_held_out_exactly_once(tiny_dataset: Path) -> None:
    records = read_records(tiny_dataset)
    folds = make_folds(records, max_folds_per_source=2)
    families = [f for fold in folds for f in fold.families]
    assert sorted(families) == sorted(set(protocol_families(records)))  # once each
    assert max(sum(1 for f in folds if f.source == s) for s in {f.source for f in folds}) <= 2
    where = fold_index(records, folds)
    for record, i in zip(records, where, strict=True):
        assert folds[i].source == record.source


def test_families_follow_the_manifest_then_the_folders() -> None:
    def record(label: str, source: str, path: str, split: str = "train", family: str = ""):
        return Record(
            path=Path("/x.jpg"), label=label, split=split, source=source,
            source_path=path, source_family=family,
        )  # fmt: skip

    flowers = [
        record("ornamental_poppy", "u/flowers", "flowers/train/26/a.jpg", family="u/flowers"),
        record("ornamental_poppy", "u/flowers", "flowers/test/26/b.jpg", "test", "u/flowers"),
        record("other_plant", "u/flowers", "flowers/valid/7/c.jpg", family="u/flowers"),
        record("other_plant", "s/seedlings", "train/Maize/d.png"),
        record("other_plant", "s/seedlings", "test_images/e.png"),
    ]
    assert family_of(flowers[0]) == "u/flowers"  # the manifest's column wins
    assert family_of(flowers[3]) == "s/seedlings:Maize"  # else the folder, split folders out
    assert family_of(flowers[4]) == "s/seedlings"
    # u/flowers holds every training poppy: split into its folders, train/test kept together
    assert protocol_families(flowers)[:3] == ["u/flowers:flowers/26"] * 2 + ["u/flowers:flowers/7"]
    folds = make_folds(flowers, max_folds_per_source=1)
    assert [(f.source, len(f.families)) for f in folds] == [("s/seedlings", 2), ("u/flowers", 2)]


def test_card_holds_both_protocols_and_the_gate(oos_export: Path, tiny_dataset: Path) -> None:
    bundle = load_bundle(oos_export)
    card = bundle.card
    assert card.extra["calibration"]["fitted_on"] == "out_of_source"
    assert {"val", "test", "out_of_source"} <= set(card.extra["metrics"])
    oos = card.extra["metrics"]["out_of_source"]
    assert oos["images"] == len(read_records(tiny_dataset))  # every image, every split
    assert oos["protocol"]["folds"] >= 2 and "cross_fitted" in oos
    assert set(oos["per_family"]) == {family_of(r) for r in read_records(tiny_dataset)}
    assert sum(oos["protocol"]["held_out_per_fold"].values()) == oos["images"]
    gate = card.familiarity
    assert gate is not None and gate.label == "cannabis" and gate.alert_min is not None
    assert bundle.familiarity is not None
    assert len(bundle.familiarity.references) == gate.references
    assert json.loads((oos_export / "card.json").read_text())["schema"] == "plantscout.bundle/2"


def test_check_card_refits_the_folds_and_reproduces_them(
    oos_export: Path, tiny_dataset: Path, tmp_path: Path
) -> None:
    import shutil

    # The bundle to compare with "never saw" the texture source: only its images are compared.
    older = tmp_path / "older"
    shutil.copytree(oos_export, older)
    card = json.loads((older / "card.json").read_text())
    card["sources"] = [s for s in card["sources"] if s["source"] != "pan8915/DeepTexture"]
    (older / "card.json").write_text(json.dumps(card))
    result = CliRunner().invoke(
        evaluate_app,
        [
            str(oos_export), "--data", str(tiny_dataset), "--protocol", "out-of-source",
            "--no-plots", "--check-card", "--out", str(tmp_path / "oos"), "--compare", str(older),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "recorded metrics reproduced" in result.output
    assert "out-of-source fold" in result.output  # refitted, not read back
    metrics = json.loads((tmp_path / "oos" / "metrics.json").read_text())
    assert "## Per source family" in (tmp_path / "oos" / "report.md").read_text()
    assert (
        metrics["targets"]
        == load_bundle(oos_export).card.extra["metrics"]["out_of_source"]["targets"]
    )
    textures = sum(1 for r in read_records(tiny_dataset) if r.source == "pan8915/DeepTexture")
    assert f"comparing on {textures} images from 1 sources" in result.output
    comparison = json.loads((tmp_path / "oos" / "compare.json").read_text())
    assert comparison["images"] == textures
    assert set(comparison["per_label"]) == {"background"}


def test_check_card_fails_when_the_card_disagrees(
    oos_export: Path, tiny_dataset: Path, tmp_path: Path
) -> None:
    import shutil

    copy = tmp_path / "bundle"
    shutil.copytree(oos_export, copy)
    card = json.loads((copy / "card.json").read_text())
    card["metrics"]["out_of_source"]["controlled"]["cannabis"]["alert"]["tp"] += 1
    (copy / "card.json").write_text(json.dumps(card))
    result = CliRunner().invoke(
        evaluate_app,
        [
            str(copy), "--data", str(tiny_dataset), "--protocol", "out-of-source",
            "--no-plots", "--check-card", "--out", str(tmp_path / "e"),
        ],
    )  # fmt: skip
    assert result.exit_code == 1
    assert "cannabis alert tp" in result.output


def test_in_source_scores_use_the_gate(oos_export: Path, tiny_dataset: Path) -> None:
    """The in-source test numbers in the card come from the gated bundle."""
    from plantscout.training.evaluate import evaluate

    records = [r for r in read_records(tiny_dataset) if r.split == "test"]
    scored, metrics = evaluate(oos_export, records)
    assert scored.familiarity is not None and np.isfinite(scored.familiarity).all()
    recorded = load_bundle(oos_export).card.extra["metrics"]["test"]
    assert metrics["targets"] == recorded["targets"]
