"""Metric functions on numpy arrays (no torch): evaluation runs where only the bundle is."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    z = np.asarray(logits, np.float64) / temperature
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def nll(logits: np.ndarray, targets: np.ndarray, temperature: float = 1.0) -> float:
    p = softmax(logits, temperature)
    return float(-np.log(np.clip(p[np.arange(len(targets)), targets], 1e-12, None)).mean())


def fit_temperature(logits: np.ndarray, targets: np.ndarray) -> float:
    """The temperature minimising validation NLL (golden-section search on log T)."""
    if len(targets) == 0:
        return 1.0
    lo, hi = np.log(0.05), np.log(20.0)
    ratio = (np.sqrt(5) - 1) / 2
    a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
    fa, fb = nll(logits, targets, np.exp(a)), nll(logits, targets, np.exp(b))
    for _ in range(60):
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - ratio * (hi - lo)
            fa = nll(logits, targets, np.exp(a))
        else:
            lo, a, fa = a, b, fb
            b = lo + ratio * (hi - lo)
            fb = nll(logits, targets, np.exp(b))
    return float(np.exp((lo + hi) / 2))


def ece(probs: np.ndarray, targets: np.ndarray, bins: int = 15) -> float:
    """Expected calibration error of the top-label confidence (equal-width bins)."""
    if len(targets) == 0:
        return float("nan")
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == targets
    edges = np.linspace(0, 1, bins + 1)
    total = 0.0
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        mask = (confidence > lo) & (confidence <= hi)
        if mask.any():
            total += mask.mean() * abs(correct[mask].mean() - confidence[mask].mean())
    return float(total)


def reliability(probs: np.ndarray, targets: np.ndarray, bins: int = 15) -> dict[str, list[float]]:
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == targets
    edges = np.linspace(0, 1, bins + 1)
    out: dict[str, list[float]] = {"confidence": [], "accuracy": [], "count": []}
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        mask = (confidence > lo) & (confidence <= hi)
        out["confidence"].append(float(confidence[mask].mean()) if mask.any() else float("nan"))
        out["accuracy"].append(float(correct[mask].mean()) if mask.any() else float("nan"))
        out["count"].append(float(mask.sum()))
    return out


def auroc(scores: np.ndarray, positive: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney U with tie correction)."""
    positive = positive.astype(bool)
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores), np.float64)
    sorted_scores = scores[order]
    i = 0
    while i < len(scores):
        j = i
        while j + 1 < len(scores) and sorted_scores[j + 1] == sorted_scores[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def precision_recall_curve(
    scores: np.ndarray, positive: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(precision, recall, thresholds) for thresholds at every distinct score, descending."""
    order = np.argsort(-scores, kind="mergesort")
    s, y = scores[order], positive[order].astype(bool)
    tp = np.cumsum(y)
    fp = np.cumsum(~y)
    last = np.r_[np.nonzero(np.diff(s))[0], len(s) - 1]
    precision = tp[last] / np.maximum(tp[last] + fp[last], 1)
    recall = tp[last] / max(int(y.sum()), 1)
    return precision, recall, s[last]


def average_precision(scores: np.ndarray, positive: np.ndarray) -> float:
    if not positive.any():
        return float("nan")
    precision, recall, _ = precision_recall_curve(scores, positive)
    previous = np.r_[0.0, recall[:-1]]
    return float(((recall - previous) * precision).sum())


def threshold_for_recall(scores: np.ndarray, target: float) -> float | None:
    """The highest threshold t with mean(scores >= t) >= target (None if no positives)."""
    if len(scores) == 0:
        return None
    ranked = np.sort(scores)[::-1]
    k = int(np.ceil(target * len(ranked))) - 1
    return float(ranked[min(max(k, 0), len(ranked) - 1)])


def threshold_for_mean_recall(
    scores: np.ndarray, groups: Sequence[str], target: float, min_count: int
) -> float | None:
    """Highest threshold where the mean of per-group recalls reaches ``target``.

    Groups (sources) with fewer than ``min_count`` positives are pooled into one, so a
    single web photo cannot dictate the threshold.
    """
    if len(scores) == 0:
        return None
    names = np.asarray(groups, dtype=object)
    counts = {g: int((names == g).sum()) for g in set(groups)}
    keyed = np.array([g if counts[g] >= min_count else "_small" for g in groups], dtype=object)
    members = [scores[keyed == g] for g in sorted(set(keyed.tolist()))]
    candidates = np.unique(scores)[::-1]
    for t in candidates:
        if np.mean([(m >= t).mean() for m in members]) >= target:
            return float(t)
    return float(candidates[-1])


def confusion_matrix(targets: np.ndarray, predictions: np.ndarray, n: int) -> np.ndarray:
    matrix = np.zeros((n, n), np.int64)
    for t, p in zip(targets, predictions, strict=True):
        if 0 <= t < n:
            matrix[t, p] += 1
    return matrix
