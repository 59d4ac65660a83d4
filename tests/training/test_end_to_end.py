"""datasets build -> train -> export -> evaluate -> notebook, on a tiny real subset.

The session fixtures (conftest.py) run each command once; the tests here check what came out.
Together about a minute on 2 cores: this is the only test that proves the commands fit.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
from click.testing import CliRunner

from plantscout.model import Scorer, Verdict, load_bundle
from plantscout.model.bundle import EMBEDDING_OUTPUT, INPUT_NAME, LOGITS_OUTPUT
from plantscout.training.cli import export_app, train_app
from plantscout.training.evaluate_cli import app as evaluate_app

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "training" / "configs" / "lite0-head.toml"


def test_run_directory_has_config_metrics_and_checkpoints(tiny_run: Path) -> None:
    config = json.loads((tiny_run / "config.json").read_text("utf-8"))
    assert config["optim"]["epochs"] == 2 and config["mode"] == "head"
    with open(tiny_run / "metrics.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    assert {"train_loss", "val_loss", "val_controlled_recall", "val_recall_cannabis"} <= set(
        rows[0]
    )
    assert (tiny_run / "checkpoints" / "best.pt").is_file()
    assert (tiny_run / "checkpoints" / "last.pt").is_file()
    summary = json.loads((tiny_run / "summary.json").read_text("utf-8"))
    assert summary["best_epoch"] in (1, 2) and len(summary["data"]["manifest_hash"]) == 64


def test_exported_bundle_follows_the_contract(tiny_export: Path, real_photo) -> None:
    bundle = load_bundle(tiny_export)
    card = bundle.card
    assert card.label_keys == (
        "cannabis",
        "ornamental_poppy",
        "cannabis_lookalike",
        "other_plant",
        "background",
    )
    poppy = card.label("ornamental_poppy")
    assert poppy.review_for == "opium_poppy" and poppy.thresholds.alert is None
    assert poppy.thresholds.review is not None
    assert card.label("cannabis").thresholds.alert is not None
    assert card.preprocessing.mean == (0.5, 0.5, 0.5) and card.preprocessing.input_size == 224
    assert card.temperature > 0 and card.embedding_dim == 1280
    assert "Papaver somniferum" in card.limitations[0].en and "罂粟" in card.limitations[0].zh
    extra = card.extra
    assert extra["export"]["parity"]["images"] == 5
    assert extra["export"]["parity"]["max_abs_logits"] < 1e-3
    assert len(extra["data"]["manifest_hash"]) == 64
    assert any("Maythaporn" in s["source"] and s["licences"] for s in extra["sources"])
    assert extra["tiles"]["gsd_m"] == 0.01 and extra["tiles"]["size_px"] == 224
    assert set(extra["metrics"]) == {"val", "test"}

    graph = onnx.load(str(bundle.onnx_path))
    (image,) = graph.graph.input
    assert image.name == INPUT_NAME
    assert image.type.tensor_type.shape.dim[0].dim_param  # dynamic batch
    assert [o.name for o in graph.graph.output] == [LOGITS_OUTPUT, EMBEDDING_OUTPUT]
    # No exporter stack traces: they name local paths and would make the sha256 machine-bound.
    assert not any(node.metadata_props for node in graph.graph.node)

    scorer = Scorer(bundle, intra_op_threads=2)
    raw = scorer.run(np.zeros((3, 3, 224, 224), np.float32))
    assert raw.logits.shape == (3, 5)
    assert np.allclose(np.linalg.norm(raw.embeddings, axis=1), 1.0, atol=1e-4)
    score = scorer.score_image(scorer.read(real_photo("cannabis", 7)))
    assert score.verdict in set(Verdict) and score.model["sha256"] == bundle.sha256
    opium = score.species_score("opium_poppy")
    assert opium is not None and opium.trained is False and opium.level != "alert"

    report = (tiny_export / "evaluation" / "report.md").read_text("utf-8")
    assert "## Targets" in report and "## Per source" in report
    for png in ("confusion_matrix.png", "pr_curves.png", "reliability.png"):
        assert (tiny_export / "evaluation" / png).stat().st_size > 1000


def test_int8_variant_is_measured_not_assumed(tiny_export: Path) -> None:
    card = load_bundle(tiny_export).card
    variant = card.extra["variants"]["int8"]
    assert variant["speed"]["fp32_images_per_second"] > 0
    assert variant["speed"]["int8_images_per_second"] > 0
    assert variant["accuracy_change"]["images"] > 0
    assert 0 <= variant["accuracy_change"]["top1_agreement_with_fp32"] <= 1
    int8 = load_bundle(tiny_export.parent / variant["directory"])
    assert int8.sha256 == variant["sha256"] != card.onnx_sha256
    assert variant["size_bytes"] < variant["fp32_size_bytes"]


def test_evaluate_reproduces_the_card(tiny_export: Path, tiny_dataset: Path, tmp_path: Path):
    out = tmp_path / "eval"
    result = CliRunner().invoke(
        evaluate_app,
        [
            str(tiny_export.parent),
            "--data",
            str(tiny_dataset),
            "--split",
            "test",
            "--out",
            str(out),
            "--check-card",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "recorded metrics reproduced" in result.output
    metrics = json.loads((out / "metrics.json").read_text("utf-8"))
    card_metrics = load_bundle(tiny_export).card.extra["metrics"]["test"]
    assert metrics["targets"] == card_metrics["targets"]
    assert metrics["per_label"] == card_metrics["per_label"]
    for key in ("calibration", "rejection", "stand_ins", "per_source", "cannabis_false_alarms"):
        assert key in metrics
    with open(out / "predictions.csv", newline="", encoding="utf-8") as handle:
        assert len(list(csv.DictReader(handle))) == metrics["images"]

    val = CliRunner().invoke(
        evaluate_app,
        [
            str(tiny_export),
            "--data",
            str(tiny_dataset),
            "--split",
            "val",
            "--out",
            str(tmp_path / "val"),
            "--no-plots",
            "--check-card",
        ],
    )
    assert val.exit_code == 0, val.output  # val metrics are recorded too


def test_evaluate_explains_an_unexported_run(tmp_path: Path) -> None:
    (tmp_path / "run" / "checkpoints").mkdir(parents=True)
    result = CliRunner().invoke(evaluate_app, [str(tmp_path / "run"), "--data", __file__])
    assert result.exit_code != 0 and "plantscout export" in result.output


def test_export_refuses_past_the_parity_tolerance(tiny_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "refused"
    result = CliRunner().invoke(
        export_app,
        [
            str(tiny_run),
            "--out",
            str(out),
            "--parity-images",
            "5",
            "--tolerance",
            "1e-12",
            "--evaluate-split",
            "none",
            "--quiet",
        ],
    )
    assert result.exit_code != 0 and "export refused" in result.output
    assert not out.exists() and not list(tmp_path.glob(".refused-*"))  # no half bundle
    too_many = CliRunner().invoke(
        export_app,
        [str(tiny_run), "--out", str(out), "--quiet"],  # default: 64 images
    )
    assert too_many.exit_code != 0 and "64" in too_many.output


def test_finetune_mode_runs_on_cpu(tiny_dataset: Path, tmp_path: Path, tiny_overrides) -> None:
    args = [str(CONFIG), "--run-dir", str(tmp_path / "ft"), "--quiet"]
    for item in tiny_overrides(tiny_dataset, tmp_path / "cache"):
        args += ["--set", item]
    args += ["--set", "mode=finetune", "--set", "optim.epochs=1", "--set", "optim.batch_size=8"]
    result = CliRunner().invoke(train_app, args)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "ft" / "checkpoints" / "best.pt").is_file()


def test_notebook_executes_on_the_tiny_evaluation(tiny_export: Path, tmp_path: Path) -> None:
    """The error-analysis notebook runs top to bottom (jupytext -> nbclient)."""
    figures = tmp_path / "figures"
    env = {
        **os.environ,
        "PLANTSCOUT_EVAL_DIR": str(tiny_export / "evaluation"),
        "PLANTSCOUT_FIGURES": str(figures),
        "PLANTSCOUT_WORST_N": "3",
    }
    code = (
        "import jupytext, nbclient, sys;"
        f"nb = jupytext.read({str(REPO / 'notebooks' / 'worst_errors.py')!r});"
        "nbclient.NotebookClient(nb, timeout=120, kernel_name='python3').execute()"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert list(figures.glob("*.png"))


def test_shallower_features_derive_from_a_deeper_cache(tiny_dataset: Path, tmp_path: Path):
    """A cache made for 1 trained block serves a head-only run without re-running the trunk."""
    import torch

    from plantscout.training.backbones import get_spec
    from plantscout.training.config import AugmentConfig, DataConfig
    from plantscout.training.data import load_splits
    from plantscout.training.features import cached_features, extract
    from plantscout.training.network import bridge_module, build_network, split_backbone

    torch.set_num_threads(2)
    records = load_splits(DataConfig(manifest=str(tiny_dataset)))["val"].records
    net = build_network("tf_efficientnet_lite0", 5)
    spec = get_spec("tf_efficientnet_lite0").preprocessing
    logs: list[str] = []
    common = dict(
        backbone="tf_efficientnet_lite0",
        views=0,
        augment=AugmentConfig(),
        seed=0,
        batch_size=8,
        device=torch.device("cpu"),
        progress=lambda items, total, desc: items,
        desc="val",
        log=logs.append,
    )
    trunk1, _ = split_backbone(net.backbone, 1)
    cached_features(tmp_path, trunk1, records, spec, train_blocks=1, **common)
    trunk0, _ = split_backbone(net.backbone, 0)
    derived = cached_features(
        tmp_path,
        trunk0,
        records,
        spec,
        train_blocks=0,
        bridge_for=lambda deeper: bridge_module(net.backbone, deeper, 0),
        **common,
    )
    assert any("derived from the cache at 1" in line for line in logs)
    direct = extract(
        trunk0,
        records,
        spec,
        views=0,
        augment=AugmentConfig(),
        seed=0,
        batch_size=8,
        device=torch.device("cpu"),
        progress=common["progress"],
        desc="val",
    )
    assert derived.shape == direct.shape == (len(records), 1, 1280)
    # The deeper cache is float16: the derived features differ by rounding only.
    assert np.abs(derived.astype(np.float32) - direct.astype(np.float32)).max() < 0.05


def test_evaluate_needs_no_torch(tiny_export: Path, tiny_dataset: Path, tmp_path: Path) -> None:
    """`plantscout evaluate` runs where only the inference core is installed."""
    block = (
        "import sys\n"
        "class _Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in {'torch', 'torchvision', 'timm', 'albumentations'}:\n"
        "            raise ImportError(name + ' is blocked for this test')\n"
        "sys.meta_path.insert(0, _Block())\n"
        "from plantscout.training.evaluate_cli import app\n"
        f"app([{str(tiny_export)!r}, '--data', {str(tiny_dataset)!r}, '--out', "
        f"{str(tmp_path / 'e')!r}, '--no-plots', '--check-card'])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", block], capture_output=True, text=True, timeout=300, cwd=REPO
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "recorded metrics reproduced" in result.stdout
