"""The shipped bundles tell the truth about themselves.

The default release (2.0.0) was trained on plants-v2, whose new images live outside
``../shared`` — CI cannot rebuild its training data. What CI can rebuild is plants-v1, so the
card also records the default bundle's numbers on the plants-v1 test split (with how many of
those images it trained on: plants-v2 re-split a few). This test rebuilds plants-v1 exactly as
the README does, then re-scores that split through each shipped ONNX file — the default and
the previous 1.0.0, kept for comparison — and requires every recorded count and target value
to be reproduced (``plantscout evaluate --check-card``). For 1.0.0 this also proves the old
bundle still loads and scores exactly as it did. About a minute on 2 cores.

The card's plants-v2 numbers (in-source test and out-of-source protocol) are reproduced by
``plantscout evaluate … --check-card`` on a machine with plants-v2 (README, Training).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from plantscout.cli import cli
from plantscout.datasets import load_info
from plantscout.model import Role, load_bundle

REPO = Path(__file__).resolve().parents[2]
RELEASES = REPO / "model" / "releases"
PREVIOUS = RELEASES / "plantscout-lite0-1.0.0"
V1_KEY = "plants-v1-test"  # the default card's CI-checkable entry


@pytest.fixture(scope="module")
def released():
    return load_bundle(RELEASES / (RELEASES / "DEFAULT").read_text().strip())


def test_default_bundle_is_the_documented_release(released) -> None:
    assert released.version == "2.0.0" and PREVIOUS.is_dir()
    card = released.card
    assert card.untrained_controlled == ("opium_poppy",)
    poppy = card.label("ornamental_poppy")
    assert poppy.review_for == "opium_poppy" and poppy.thresholds.alert is None
    assert card.label("cannabis").role is Role.CONTROLLED
    assert card.label("cannabis").thresholds.alert is not None
    first = card.limitations[0]
    assert "Papaver somniferum" in first.en and "罂粟" in first.zh
    sources = {s["source"]: s for s in card.extra["sources"]}
    assert "udacity/aipnd-project" in sources and "Vik99-wq/Hemp-Remote-Sensing" in sources
    assert all(s["licences"] and s["images"] for s in sources.values())
    # Both protocols, thresholds fitted out-of-source, the gate and its references.
    metrics = card.extra["metrics"]
    assert {"test", "out_of_source", V1_KEY} <= set(metrics)
    assert card.extra["calibration"]["fitted_on"] == "out_of_source"
    assert metrics["out_of_source"]["protocol"]["folds"] >= 20
    assert "cross_fitted" in metrics["out_of_source"]
    assert card.familiarity is not None and released.familiarity is not None
    assert any("unfamiliar" in t.en for t in card.limitations)


@pytest.mark.slow
def test_card_metrics_are_reproduced_on_the_rebuilt_plants_v1_test_split(
    released, plants_v1: Path, tmp_path: Path
) -> None:
    runner = CliRunner()
    data = tmp_path / "plants-v1"
    built = runner.invoke(
        cli,
        [
            "datasets", "build",
            "--manifest", str(plants_v1 / "manifest.csv"),
            "--sources", str(REPO / "datasets/sources/plants-v1.toml"),
            "--out", str(data), "--seed", "0",
        ],
    )  # fmt: skip
    assert built.exit_code == 0, built.output
    rebuilt = load_info(data)["manifest_hash"]
    previous = load_bundle(PREVIOUS)
    assert rebuilt == previous.card.extra["data"]["manifest_hash"]
    assert rebuilt == released.card.extra["metrics"][V1_KEY]["data"]["dataset_hash"]

    for bundle in (released, previous):
        out = tmp_path / f"eval-{bundle.version}"
        evaluated = runner.invoke(
            cli,
            [
                "evaluate", str(bundle.path),
                "--data", str(data / "manifest.csv"),
                "--split", "test", "--no-plots", "--check-card",
                "--out", str(out),
            ],
        )  # fmt: skip
        assert evaluated.exit_code == 0, evaluated.output
        assert "card: recorded metrics reproduced" in evaluated.output
        metrics = json.loads((out / "metrics.json").read_text())
        assert metrics["images"] == sum(previous.card.extra["data"]["counts"]["test"].values())
