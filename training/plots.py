"""Evaluation plots as PNG: confusion matrix, PR curves, reliability diagram (matplotlib)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from . import metrics as M
from .evaluate import Scored


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def confusion_png(path: Path, result: dict[str, Any]) -> Path:
    plt = _pyplot()
    labels = result["confusion"]["labels"]
    matrix = np.array(result["confusion"]["matrix"])
    rows = matrix.sum(axis=1, keepdims=True)
    share = np.divide(matrix, rows, out=np.zeros_like(matrix, dtype=float), where=rows > 0)
    fig, ax = plt.subplots(figsize=(1.4 * len(labels) + 2, 1.2 * len(labels) + 1.5))
    ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    for i in range(len(labels)):
        for j in range(len(labels)):
            ax.text(
                j,
                i,
                f"{matrix[i, j]}\n{share[i, j]:.0%}",
                ha="center",
                va="center",
                fontsize=8,
                color="white" if share[i, j] > 0.5 else "black",
            )
    ax.set_xticks(range(len(labels)), labels, rotation=35, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted (argmax)")
    ax.set_ylabel("true label")
    ax.set_title("Confusion matrix (counts, row share)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def pr_png(path: Path, scored: Scored, result: dict[str, Any]) -> Path:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 5))
    for i, label in enumerate(scored.labels):
        positive = scored.targets == i
        if not positive.any():
            continue
        precision, recall, _ = M.precision_recall_curve(scored.probs[:, i], positive)
        ap = M.average_precision(scored.probs[:, i], positive)
        ax.plot(recall, precision, label=f"{label} (AP {ap:.3f}, n={int(positive.sum())})")
    for key, entry in result.get("controlled", {}).items():
        alert = entry["alert"]
        if alert["recall"] is not None and alert["precision"] is not None:
            ax.scatter([alert["recall"]], [alert["precision"]], marker="o", color="red", zorder=5)
            ax.annotate(f"{key} alert", (alert["recall"], alert["precision"]), fontsize=8)
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_xlim(0, 1.01)
    ax.set_ylim(0, 1.01)
    ax.set_title("Precision-recall, one label vs rest (calibrated probability)")
    ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def reliability_png(path: Path, scored: Scored) -> Path:
    plt = _pyplot()
    known = scored.targets >= 0
    y = scored.targets[known]
    before = M.softmax(scored.logits[known], 1.0)
    after = scored.probs[known]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.5), sharey=True)
    for ax, probs, title in (
        (axes[0], before, "before temperature"),
        (axes[1], after, f"after temperature T={scored.temperature:.3f}"),
    ):
        curve = M.reliability(probs, y)
        conf = np.array(curve["confidence"])
        acc = np.array(curve["accuracy"])
        ok = ~np.isnan(conf)
        ax.plot([0, 1], [0, 1], "--", color="grey")
        ax.bar(
            np.linspace(0, 1, 16)[:-1][ok] + 1 / 30, acc[ok], width=1 / 15, alpha=0.6, edgecolor="k"
        )
        ax.plot(conf[ok], acc[ok], "o-", color="C1")
        ax.set_title(f"{title}: ECE {M.ece(probs, y):.4f}")
        ax.set_xlabel("confidence (top label)")
    axes[0].set_ylabel("accuracy")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_plots(directory: Path, scored: Scored, result: dict[str, Any]) -> dict[str, str]:
    directory.mkdir(parents=True, exist_ok=True)
    return {
        "confusion_matrix": confusion_png(directory / "confusion_matrix.png", result).name,
        "pr_curves": pr_png(directory / "pr_curves.png", scored, result).name,
        "reliability": reliability_png(directory / "reliability.png", scored).name,
    }
