"""The shipped default bundle tells the truth about itself.

Rebuilds plants-v1 from ../shared exactly as the README's training section does, checks the
split is the one the card was measured on (same manifest hash), then re-scores the test split
through the shipped ONNX file and requires every recorded count and target value to be
reproduced (``plantscout evaluate --check-card``). About 20 s on 2 cores: the only guard that
the numbers quoted in the card and the README come from this exact file and split.
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


@pytest.fixture(scope="module")
def released():
    return load_bundle(None)


def test_default_bundle_is_the_documented_release(released) -> None:
    assert (REPO / "model/releases/DEFAULT").read_text().strip() == released.path.name
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


@pytest.mark.slow
def test_card_metrics_are_reproduced_on_the_rebuilt_test_split(
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
    info = load_info(data)
    assert info["manifest_hash"] == released.card.extra["data"]["manifest_hash"]

    evaluated = runner.invoke(
        cli,
        [
            "evaluate", str(released.path),
            "--data", str(data / "manifest.csv"),
            "--split", "test", "--no-plots", "--check-card",
            "--out", str(tmp_path / "eval"),
        ],
    )  # fmt: skip
    assert evaluated.exit_code == 0, evaluated.output
    assert "card: recorded metrics reproduced" in evaluated.output
    metrics = json.loads((tmp_path / "eval/metrics.json").read_text())
    assert metrics["images"] == sum(released.card.extra["data"]["counts"]["test"].values())
