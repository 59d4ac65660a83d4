# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Worst errors per label
#
# Loads an evaluation (the folder written by `plantscout evaluate … --out DIR`, or a bundle's
# `evaluation/` folder after `plantscout export`) and shows, for every true label, the images
# the model got most confidently wrong — and for cannabis, the photos that did not raise an
# alert. Set `PLANTSCOUT_EVAL_DIR` to the evaluation folder (it needs `predictions.csv` and
# `metrics.json`; the images are read from the paths in `predictions.csv`).
#
# Run it: `jupytext --to notebook --execute notebooks/worst_errors.py`, or open it in Jupyter
# with the jupytext extension.

# %%
import csv
import json
import os
from collections import Counter
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from PIL import Image, ImageOps  # noqa: E402

EVAL_DIR = Path(os.environ.get("PLANTSCOUT_EVAL_DIR", "runs/evaluations/latest"))
PER_LABEL = int(os.environ.get("PLANTSCOUT_WORST_N", "8"))
OUT_DIR = Path(os.environ.get("PLANTSCOUT_FIGURES", EVAL_DIR / "worst_errors"))
OUT_DIR.mkdir(parents=True, exist_ok=True)

with open(EVAL_DIR / "predictions.csv", newline="", encoding="utf-8") as handle:
    predictions = list(csv.DictReader(handle))
metrics = json.loads((EVAL_DIR / "metrics.json").read_text("utf-8"))
labels = [c[2:] for c in predictions[0] if c.startswith("p_")]
for row in predictions:
    row["confidence"] = float(row["confidence"])
    row["wrong"] = row["top_label"] != row["label"]
print(f"{metrics['bundle']['name']} {metrics['bundle']['version']}: {len(predictions)} images")
print({k: v["value"] for k, v in metrics["targets"].items()})

# %% [markdown]
# ## Confidently wrong, per true label
# An error is an image whose most probable label is not its true label; the worst are those
# where the wrong label got the highest probability.

# %%
errors = sorted((r for r in predictions if r["wrong"]), key=lambda r: -r["confidence"])
totals = Counter(r["label"] for r in predictions)
print(
    {label: f"{sum(r['label'] == label for r in errors)}/{totals[label]} wrong" for label in labels}
)


def show_grid(rows: list[dict], title: str, path: Path, caption) -> Path:
    """Up to PER_LABEL images in one row, each captioned; saved as PNG."""
    n = max(1, len(rows))
    fig, axes = plt.subplots(1, n, figsize=(2.6 * n, 3.2), squeeze=False)
    for ax in axes[0]:
        ax.axis("off")
    for ax, row in zip(axes[0], rows, strict=False):
        with Image.open(row["path"]) as image:
            ax.imshow(ImageOps.exif_transpose(image).convert("RGB"))
        ax.set_title(caption(row), fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.show()
    plt.close(fig)
    return path


def short_source(row: dict) -> str:
    return row["source"].split("/")[0][:18]


figures = []
for label in labels:
    worst = [r for r in errors if r["label"] == label][:PER_LABEL]
    if not worst:
        print(f"{label}: no errors")
        continue
    wrong = sum(r["label"] == label for r in errors)
    figures.append(
        show_grid(
            worst,
            f"true {label}: {totals[label]} images, {wrong} wrong",
            OUT_DIR / f"worst_{label}.png",
            lambda r: f"{r['top_label']} {r['confidence']:.2f}\n{r['verdict']}\n{short_source(r)}",
        )
    )

# %% [markdown]
# ## Cannabis photos that raised no alert
# The misses that matter most for a patrol, lowest cannabis probability first.

# %%
if "level_cannabis" in predictions[0]:
    cannabis = [r for r in predictions if r["label"] == "cannabis"]
    missed = sorted(
        (r for r in cannabis if r["level_cannabis"] != "alert"),
        key=lambda r: float(r["p_cannabis"]),
    )
    print(f"{len(missed)} of {len(cannabis)} cannabis images raised no alert")
    if missed:
        figures.append(
            show_grid(
                missed[:PER_LABEL],
                "cannabis without alert",
                OUT_DIR / "cannabis_missed.png",
                lambda r: f"p={float(r['p_cannabis']):.2f} {r['verdict']}\n{short_source(r)}",
            )
        )
print(f"{len(figures)} figures in {OUT_DIR}")
