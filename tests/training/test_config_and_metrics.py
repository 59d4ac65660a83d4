"""Configs as checked data, metric functions, thresholds and the label policy."""

from __future__ import annotations

from itertools import product
from pathlib import Path

import numpy as np
import pytest

from plantscout.training import metrics as M
from plantscout.training.calibration import choose_thresholds
from plantscout.training.config import CalibrationConfig, load_config
from plantscout.training.policy import monitored_labels, stand_in_target

REPO = Path(__file__).resolve().parents[2]


def test_shipped_config_loads_and_overrides_apply() -> None:
    config = load_config(
        REPO / "training" / "configs" / "lite0-head.toml",
        ["optim.epochs=3", "data.manifest=x.csv", "model.hidden=64", "amp=false"],
    )
    assert config.optim.epochs == 3 and config.data.manifest == "x.csv"
    assert config.model.hidden == 64 and config.amp is False
    assert config.data.labels[0] == "cannabis"


def test_config_typos_and_bad_values_fail_early(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('mode = "head"\n[optim]\nepohcs = 3\n', "utf-8")
    with pytest.raises(ValueError, match="epohcs"):
        load_config(path)
    path.write_text('mode = "fast"\n', "utf-8")
    with pytest.raises(ValueError, match="mode"):
        load_config(path)
    path.write_text('[optim]\nepochs = "many"\n', "utf-8")
    with pytest.raises(ValueError, match="epochs"):
        load_config(path)


def test_yaml_configs_work_too(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("mode: finetune\noptim:\n  epochs: 2\n  lr: 0.01\n", "utf-8")
    config = load_config(path)
    assert config.mode == "finetune" and config.optim.epochs == 2 and config.optim.lr == 0.01


def test_auroc_matches_pair_counting() -> None:
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 6, 60).astype(float)  # many ties
    positive = rng.random(60) < 0.4
    pairs = [
        1.0 if a > b else 0.5 if a == b else 0.0
        for (a, pa), (b, pb) in product(zip(scores, positive, strict=True), repeat=2)
        if pa and not pb
    ]
    assert M.auroc(scores, positive) == pytest.approx(np.mean(pairs))


def test_temperature_recovers_a_known_miscalibration() -> None:
    rng = np.random.default_rng(1)
    true_logits = rng.normal(0, 2, (4000, 5))
    targets = np.array([rng.choice(5, p=M.softmax(z)) for z in true_logits])
    fitted = M.fit_temperature(true_logits * 3.0, targets)  # overconfident by ×3
    assert fitted == pytest.approx(3.0, rel=0.1)
    before = M.ece(M.softmax(true_logits * 3.0), targets)
    after = M.ece(M.softmax(true_logits * 3.0, fitted), targets)
    assert after < before / 2


def test_threshold_keeps_the_target_recall() -> None:
    scores = np.linspace(0.01, 1.0, 100)
    t = M.threshold_for_recall(scores, 0.95)
    assert (scores >= t).mean() >= 0.95 and (scores > t).mean() < 0.95
    groups = ["big"] * 90 + ["small"] * 10
    skewed = np.r_[np.full(90, 0.9), np.linspace(0.1, 0.5, 10)]
    pooled = M.threshold_for_recall(skewed, 0.9)
    balanced = M.threshold_for_mean_recall(skewed, groups, 0.9, min_count=5)
    assert balanced < pooled  # the small, hard source pulls the threshold down


def test_policy_stand_in_and_thresholds() -> None:
    labels = ("cannabis", "ornamental_poppy", "cannabis_lookalike", "other_plant", "background")
    assert stand_in_target("ornamental_poppy", labels) == "opium_poppy"
    assert stand_in_target("ornamental_poppy", (*labels, "opium_poppy")) is None
    assert stand_in_target("cannabis_lookalike", labels) is None
    assert monitored_labels(labels) == ["cannabis", "ornamental_poppy"]
    rng = np.random.default_rng(2)
    targets = rng.integers(0, 5, 500)
    probs = M.softmax(rng.normal(0, 1, (500, 5)) + 3 * np.eye(5)[targets])
    thresholds, notes = choose_thresholds(
        probs, targets, ["s"] * 500, labels, CalibrationConfig(alert_recall=0.9, review_recall=0.98)
    )
    assert set(thresholds) == {"cannabis", "ornamental_poppy"}
    assert thresholds["ornamental_poppy"]["alert"] is None  # a stand-in never alerts
    cannabis = probs[targets == 0, 0]
    assert (cannabis >= thresholds["cannabis"]["alert"]).mean() >= 0.9
    assert thresholds["cannabis"]["review"] <= thresholds["cannabis"]["alert"]
    assert notes["ornamental_poppy"]["review_for"] == "opium_poppy"
