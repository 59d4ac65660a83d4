"""Temperature and per-label thresholds, fitted on the validation split (numpy only).

Thresholds are chosen for a *recall* target because a missed cannabis plot costs more than a
wasted check: the alert threshold is the highest probability that still alerts on
``alert_recall`` of validation cannabis, the review threshold the same for ``review_recall``.
Stand-in labels (ornamental poppy for opium poppy) get a review threshold only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import metrics as M
from .config import CalibrationConfig, OpenSetConfig
from .policy import is_controlled, stand_in_target


def _floor(value: float | None) -> float | None:
    # A hair below the validation score it came from, so that image itself still counts
    # after the JSON round trip.
    return None if value is None else max(0.0, float(np.floor(value * 1e6) / 1e6))


def choose_thresholds(
    probs: np.ndarray,
    targets: np.ndarray,
    sources: Sequence[str],
    labels: Sequence[str],
    cfg: CalibrationConfig,
    gate: tuple[str, np.ndarray, float] | None = None,
) -> tuple[dict[str, dict[str, float | None]], dict[str, Any]]:
    """Per-label ``{"alert", "review"}`` thresholds and a note of how each was chosen.

    ``gate = (label, familiarity per image, alert_min)``: that label's alert threshold is
    chosen on the images the familiarity gate lets through (the others cannot alert), so
    the alert recall target holds for gate and threshold together.
    """
    thresholds: dict[str, dict[str, float | None]] = {}
    notes: dict[str, Any] = {}
    src = np.asarray(sources, dtype=object)

    def at(recall: float, scores: np.ndarray, groups: np.ndarray) -> float | None:
        if cfg.recall_rule == "source_mean":
            return M.threshold_for_mean_recall(
                scores, groups.tolist(), recall, cfg.min_source_positives
            )
        return M.threshold_for_recall(scores, recall)

    for i, label in enumerate(labels):
        controlled = is_controlled(label)
        stand_in = stand_in_target(label, labels)
        if not controlled and stand_in is None:
            continue
        positive = targets == i
        scores = probs[positive, i]
        if not positive.any():
            default = {"alert": 0.9 if controlled else None, "review": 0.5}
            thresholds[label] = default
            notes[label] = {"rule": "default: no validation positives", "positives": 0}
            continue
        review = _floor(at(cfg.review_recall, scores, src[positive]))
        alert_scores = scores
        if gate is not None and gate[0] == label:
            alert_scores = np.where(gate[1][positive] >= gate[2], scores, 0.0)
        alert = _floor(at(cfg.alert_recall, alert_scores, src[positive])) if controlled else None
        if alert is not None and review is not None and review > alert:
            review = alert
        thresholds[label] = {"alert": alert, "review": review}
        notes[label] = {
            "rule": cfg.recall_rule,
            "positives": int(positive.sum()),
            "alert_recall_target": cfg.alert_recall if controlled else None,
            "review_recall_target": cfg.review_recall,
            "review_for": stand_in,
        }
    return thresholds, notes


@dataclass(frozen=True)
class Calibration:
    """Everything a card's decision rule needs, fitted on one set of predictions."""

    temperature: float
    thresholds: dict[str, dict[str, float | None]]
    notes: dict[str, Any]
    alert_min_familiarity: float | None  # None: no familiarity gate


def calibrate(
    logits: np.ndarray,
    targets: np.ndarray,
    sources: Sequence[str],
    labels: Sequence[str],
    cfg: CalibrationConfig,
    open_set: OpenSetConfig,
    familiarity: np.ndarray | None = None,
) -> Calibration:
    """Temperature (NLL), the familiarity cut (``open_set.gate_recall`` of the gated label's
    positives pass it) and the per-label thresholds, all from the same predictions."""
    known = targets >= 0
    temperature = M.fit_temperature(logits[known], targets[known])
    probs = M.softmax(logits, temperature)
    gate = None
    alert_min = None
    if open_set.label and familiarity is not None:
        positive = targets == list(labels).index(open_set.label)
        if positive.any():
            alert_min = _floor(float(np.quantile(familiarity[positive], 1 - open_set.gate_recall)))
            gate = (open_set.label, familiarity, alert_min)
    thresholds, notes = choose_thresholds(probs, targets, sources, labels, cfg, gate)
    if alert_min is not None:
        notes["familiarity"] = {
            "label": open_set.label,
            "gate_recall": open_set.gate_recall,
            "alert_min": alert_min,
        }
    return Calibration(temperature, thresholds, notes, alert_min)
