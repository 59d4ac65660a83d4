"""A tiny real dataset, trained and exported once per session (a few images per label).

Kept small on purpose: the whole CI must stay under 30 minutes on 2 cores. The run uses the
real backbone, real photos and every real step (build, cache, train, export, evaluate), just
with 2 epochs and one augmented view.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from click.testing import CliRunner

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "training" / "configs" / "lite0-head.toml"

STRATA = {
    ("cannabis", "thai-"): 5,
    ("cannabis", "web-sativa"): 3,
    ("ornamental_poppy", "oxford-"): 5,
    ("cannabis_lookalike", "web-"): 4,
    ("other_plant", "oxford-"): 5,
    ("background", "dtd-"): 5,
    ("cannabis", "hemp-"): 1,
}


def _pick(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    picked = []
    for (label, prefix), n in STRATA.items():
        seen: set[str] = set()
        for row in rows:
            if (
                row["label"] == label
                and row["group"].startswith(prefix)
                and row["group"] not in seen
            ):
                seen.add(row["group"])
                picked.append(row)
                if len(seen) == n:
                    break
    return picked


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory, plants_v1: Path, plants_manifest_rows) -> Path:
    """A built dataset (manifest.csv) of ~28 real photos and one hemp frame's tiles."""
    from plantscout.datasets.cli import app

    root = tmp_path_factory.mktemp("tiny-data")
    source = root / "source.csv"
    rows = _pick(plants_manifest_rows)
    with open(source, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, "path": str(plants_v1 / row["path"])})
    result = CliRunner().invoke(
        app,
        [
            "build",
            "--manifest",
            str(source),
            "--sources",
            str(REPO / "datasets" / "sources" / "plants-v1.toml"),
            "--out",
            str(root / "built"),
            "--workers",
            "1",
        ],
    )
    assert result.exit_code == 0, result.output
    return root / "built" / "manifest.csv"


def _overrides(manifest: Path, cache: Path) -> list[str]:
    return [
        f"data.manifest={manifest}",
        f"cache_dir={cache}",
        "optim.epochs=2",
        "optim.batch_size=16",
        "augment.views=1",
        "model.train_blocks=1",
    ]


@pytest.fixture(scope="session")
def tiny_overrides():
    """``--set`` values that make the shipped config a tiny, fast run."""
    return _overrides


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, tiny_dataset: Path) -> Path:
    """`plantscout train` on the tiny dataset, head mode with one trained block."""
    from plantscout.training.cli import train_app

    root = tmp_path_factory.mktemp("tiny-run")
    args = [str(CONFIG), "--run-dir", str(root / "run"), "--quiet"]
    for item in _overrides(tiny_dataset, root / "cache"):
        args += ["--set", item]
    result = CliRunner().invoke(train_app, args)
    assert result.exit_code == 0, result.output
    return root / "run"


@pytest.fixture(scope="session")
def tiny_export(tiny_run: Path) -> Path:
    """`plantscout export` of the tiny run, with the int8 variant."""
    from plantscout.training.cli import export_app

    result = CliRunner().invoke(
        export_app,
        [str(tiny_run), "--parity-images", "5", "--int8", "--quiet"],
    )
    assert result.exit_code == 0, result.output
    return tiny_run / "bundle"
