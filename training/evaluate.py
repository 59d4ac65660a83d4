"""Evaluate a bundle on a dataset split, through the ONNX bundle (no torch).

Photos go through ``Scorer.read`` + ``Scorer.score_images`` and drone tiles through
``Scorer.score_tiles`` — the service's and the scanner's own code paths — so verdicts, alert
levels and stand-in reviews here are exactly what the service would return. Pre-temperature
probabilities are recovered from the calibrated ones (``T·log p`` equals the logits up to a
per-image constant, which softmax ignores).
"""

from __future__ import annotations

import csv
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from plantscout.datasets import Record, manifest_hash
from plantscout.model import Bundle, Scorer, load_bundle

from . import metrics as M
from .policy import is_controlled

Progress = Callable[[Iterable[Any], int, str], Iterable[Any]]

TARGETS = {
    "cannabis_recall_at_alert": 0.95,
    "cannabis_precision_at_alert": 0.95,
    "lookalike_and_poppy_cannabis_alert_rate": 0.05,
    "background_vs_plant_auroc": 0.95,
    "ece_after_temperature": 0.05,
}


def _no_progress(items: Iterable[Any], total: int, desc: str) -> Iterable[Any]:
    return items


@dataclass
class Scored:
    """Per-image results of one bundle on one set of records, in record order."""

    records: list[Record]
    labels: tuple[str, ...]
    targets: np.ndarray  # index into labels, -1 when the image's label is not an output
    probs: np.ndarray  # calibrated (the card's temperature)
    logits: np.ndarray  # T * log(probs): logits up to a per-row constant
    verdicts: list[str]
    levels: dict[str, list[str | None]]  # controlled species -> level per image
    temperature: float


def score_records(
    bundle: Bundle | str | Path,
    records: Sequence[Record],
    *,
    threads: int = 2,
    batch_size: int = 16,
    progress: Progress = _no_progress,
) -> Scored:
    scorer = Scorer(bundle, intra_op_threads=threads, batch_size=batch_size)
    card = scorer.card
    labels = card.label_keys
    index = {k: i for i, k in enumerate(labels)}
    scores: list[Any] = [None] * len(records)
    photos = [i for i, r in enumerate(records) if not r.is_tile]
    tiles = [i for i, r in enumerate(records) if r.is_tile]
    size = card.preprocessing.input_size
    for start in progress(
        range(0, len(photos), batch_size), math.ceil(len(photos) / batch_size), "photos"
    ):
        chunk = photos[start : start + batch_size]
        decoded = [scorer.read(records[i].path) for i in chunk]
        for i, score in zip(chunk, scorer.score_images(decoded), strict=True):
            scores[i] = score
    for start in range(0, len(tiles), batch_size):
        chunk = tiles[start : start + batch_size]
        pixels = [_tile(records[i].path, size) for i in chunk]
        for i, score in zip(chunk, scorer.score_tiles(pixels), strict=True):
            scores[i] = score
    probs = np.array([[s.probabilities[k] for k in labels] for s in scores], np.float64)
    probs = probs.reshape(len(records), len(labels))
    logits = card.temperature * np.log(np.clip(probs, 1e-300, None))
    species = [s.key for s in scores[0].species] if scores else []
    levels = {key: [_level(s.species_score(key)) for s in scores] for key in species}
    return Scored(
        records=list(records),
        labels=labels,
        targets=np.array([index.get(r.label, -1) for r in records], np.int64),
        probs=probs,
        logits=logits,
        verdicts=[s.verdict.value for s in scores],
        levels=levels,
        temperature=card.temperature,
    )


def _level(species: Any) -> str | None:
    return species.level.value if species is not None and species.level else None


def _tile(path: Path, size: int) -> np.ndarray:
    from PIL import Image

    from plantscout.model import read_image

    image = read_image(path).image
    if image.size != (size, size):
        image = image.resize((size, size), Image.Resampling.BICUBIC)
    return np.asarray(image.convert("RGB"))


def _rate(count: int, n: int) -> dict[str, Any]:
    return {"rate": (count / n) if n else None, "count": int(count), "n": int(n)}


def compute_metrics(scored: Scored, bundle: Bundle) -> dict[str, Any]:
    """Every number the issue asks for, with counts, from one scored split."""
    card = bundle.card
    labels = scored.labels
    y = scored.targets
    known = y >= 0
    probs, yk = scored.probs[known], y[known]
    pred = probs.argmax(axis=1)
    sources = np.array([r.source for r in scored.records], dtype=object)
    label_of = np.array([r.label for r in scored.records], dtype=object)
    out: dict[str, Any] = {
        "images": len(scored.records),
        "records_hash": manifest_hash(scored.records),
        "bundle": bundle.identity(),
        "temperature": card.temperature,
        "unscored_labels": dict(
            Counter(r.label for r, t in zip(scored.records, y, strict=True) if t < 0)
        ),
    }

    # Per label at the argmax.
    per_label = {}
    for i, label in enumerate(labels):
        tp = int(((pred == i) & (yk == i)).sum())
        support = int((yk == i).sum())
        predicted = int((pred == i).sum())
        precision = tp / predicted if predicted else None
        recall = tp / support if support else None
        f1 = (
            2 * precision * recall / (precision + recall)
            if precision and recall
            else (0.0 if support else None)
        )
        ap = M.average_precision(probs[:, i], yk == i) if support else None
        per_label[label] = {
            "average_precision": ap,
            "support": support,
            "predicted": predicted,
            "correct": tp,
            "precision": precision,
            "recall": recall,
            "f1": f1,
        }
    out["per_label"] = per_label
    out["accuracy"] = float((pred == yk).mean()) if len(yk) else None
    recalls = [v["recall"] for v in per_label.values() if v["recall"] is not None]
    out["balanced_accuracy"] = float(np.mean(recalls)) if recalls else None
    out["confusion"] = {
        "labels": list(labels),
        "matrix": M.confusion_matrix(yk, pred, len(labels)).tolist(),
    }

    # Controlled labels at the card's thresholds (the levels the service returns).
    controlled: dict[str, Any] = {}
    for key in (k for k in labels if is_controlled(k)):
        positive = label_of == key
        entry: dict[str, Any] = {"positives": int(positive.sum())}
        for level in ("alert", "review"):
            raised = np.array(
                [
                    lv == "alert" or (level == "review" and lv == "review")
                    for lv in scored.levels[key]
                ]
            )
            tp = int((raised & positive).sum())
            fp = int((raised & ~positive).sum())
            fn = int((~raised & positive).sum())
            thresholds = card.label(key).thresholds
            entry[level] = {
                "threshold": getattr(thresholds, level),
                "recall": tp / (tp + fn) if tp + fn else None,
                "precision": tp / (tp + fp) if tp + fp else None,
                "tp": tp,
                "fp": fp,
                "fn": fn,
                "missed_by_source": dict(Counter(sources[positive & ~raised].tolist())),
                "false_alarms_by_label": dict(Counter(label_of[raised & ~positive].tolist())),
                "false_alarms_by_source": dict(Counter(sources[raised & ~positive].tolist())),
            }
        controlled[key] = entry
    out["controlled"] = controlled

    # Stand-ins: e.g. ornamental poppy raising opium poppy to review.
    stand_ins: dict[str, Any] = {}
    for label in card.labels:
        if not label.review_for:
            continue
        raised = np.array([lv == "review" for lv in scored.levels[label.review_for]])
        own = label_of == label.key
        stand_ins[label.key] = {
            "review_for": label.review_for,
            "review_threshold": label.thresholds.review,
            "review_rate_on_own_label": _rate(int((raised & own).sum()), int(own.sum())),
            "precision": (int((raised & own).sum()) / int(raised.sum())) if raised.any() else None,
            "raised_by_label": dict(Counter(label_of[raised].tolist())),
            "any_alert": any(lv == "alert" for lv in scored.levels[label.review_for]),
        }
    out["stand_ins"] = stand_ins

    # False alarms: non-cannabis images raised to cannabis alert.
    if "cannabis" in scored.levels:
        alert = np.array([lv == "alert" for lv in scored.levels["cannabis"]])
        by_label = {
            label: _rate(int((alert & (label_of == label)).sum()), int((label_of == label).sum()))
            for label in sorted(set(label_of.tolist()))
            if label != "cannabis"
        }
        confusable = np.isin(label_of, ["cannabis_lookalike", "ornamental_poppy"])
        out["cannabis_false_alarms"] = {
            "by_label": by_label,
            "lookalike_and_poppy": _rate(int((alert & confusable).sum()), int(confusable.sum())),
            "by_source": dict(Counter(sources[alert & (label_of != "cannabis")].tolist())),
        }

    # Calibration before / after temperature.
    before = M.softmax(scored.logits[known], 1.0)
    after = probs
    out["calibration"] = {
        "ece_before": M.ece(before, yk),
        "ece_after": M.ece(after, yk),
        "nll_before": M.nll(scored.logits[known], yk, 1.0) if len(yk) else None,
        "nll_after": M.nll(scored.logits[known], yk, card.temperature) if len(yk) else None,
        "ece_after_by_source": {
            s: M.ece(after[sources[known] == s], yk[sources[known] == s])
            for s in sorted(set(sources[known].tolist()))
        },
    }

    # Unknown-image rejection: background vs any plant, scored by P(background).
    if "background" in labels:
        bg = label_of == "background"
        p_bg = scored.probs[:, labels.index("background")]
        unusable = np.array([v == "unusable" for v in scored.verdicts])
        out["rejection"] = {
            "auroc_background_vs_plant": M.auroc(p_bg, bg),
            "n_background": int(bg.sum()),
            "n_plant": int((~bg).sum()),
            "unusable_rate_background": _rate(int((unusable & bg).sum()), int(bg.sum())),
            "unusable_rate_plant": _rate(int((unusable & ~bg).sum()), int((~bg).sum())),
            "plants_marked_unusable_by_source": dict(Counter(sources[unusable & ~bg].tolist())),
        }

    verdicts: dict[str, dict[str, int]] = defaultdict(dict)
    for (label, verdict), n in Counter(
        zip(label_of.tolist(), scored.verdicts, strict=True)
    ).items():
        verdicts[label][verdict] = n
    out["verdicts"] = {k: dict(sorted(v.items())) for k, v in sorted(verdicts.items())}

    out["per_source"] = _per_source(scored, sources, label_of)
    out["targets"] = _targets(out)
    return out


def _per_source(scored: Scored, sources: np.ndarray, label_of: np.ndarray) -> dict[str, Any]:
    pred = scored.probs.argmax(axis=1)
    result = {}
    alert = np.array([lv == "alert" for lv in scored.levels.get("cannabis", [])], dtype=bool)
    for source in sorted(set(sources.tolist())):
        mask = sources == source
        entry: dict[str, Any] = {
            "n": int(mask.sum()),
            "labels": dict(Counter(label_of[mask].tolist())),
            "accuracy": float((pred[mask] == scored.targets[mask]).mean()),
        }
        if alert.size:
            cannabis = mask & (label_of == "cannabis")
            other = mask & (label_of != "cannabis")
            if cannabis.any():
                entry["cannabis_recall_at_alert"] = _rate(
                    int(alert[cannabis].sum()), int(cannabis.sum())
                )
            if other.any():
                entry["cannabis_alert_rate_on_non_cannabis"] = _rate(
                    int(alert[other].sum()), int(other.sum())
                )
        result[source] = entry
    return result


def _targets(m: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, float | None] = {}
    cannabis = m.get("controlled", {}).get("cannabis", {}).get("alert")
    if cannabis:
        values["cannabis_recall_at_alert"] = cannabis["recall"]
        values["cannabis_precision_at_alert"] = cannabis["precision"]
    if "cannabis_false_alarms" in m:
        values["lookalike_and_poppy_cannabis_alert_rate"] = m["cannabis_false_alarms"][
            "lookalike_and_poppy"
        ]["rate"]
    if "rejection" in m:
        values["background_vs_plant_auroc"] = m["rejection"]["auroc_background_vs_plant"]
    values["ece_after_temperature"] = m["calibration"]["ece_after"]
    out = {}
    for name, value in values.items():
        target = TARGETS[name]
        upper = name in ("lookalike_and_poppy_cannabis_alert_rate", "ece_after_temperature")
        met = None
        if value is not None and not (isinstance(value, float) and math.isnan(value)):
            met = value <= target if upper else value >= target
        out[name] = {
            "value": value,
            "target": target,
            "at_most" if upper else "at_least": True,
            "met": met,
        }
    return out


def write_predictions(path: Path, scored: Scored) -> None:
    """One row per image: what the notebook and error analysis read."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        species = sorted(scored.levels)
        writer.writerow(
            [
                "path",
                "label",
                "split",
                "source",
                "group",
                "kind",
                "top_label",
                "confidence",
                "verdict",
                *[f"level_{s}" for s in species],
                *[f"p_{k}" for k in scored.labels],
            ]
        )
        for i, record in enumerate(scored.records):
            p = scored.probs[i]
            writer.writerow(
                [
                    str(record.path),
                    record.label,
                    record.split,
                    record.source,
                    record.group,
                    record.kind,
                    scored.labels[int(p.argmax())],
                    f"{p.max():.6f}",
                    scored.verdicts[i],
                    *[scored.levels[s][i] or "" for s in species],
                    *[f"{v:.6f}" for v in p],
                ]
            )


def evaluate(
    bundle_path: str | Path,
    records: Sequence[Record],
    *,
    threads: int = 2,
    batch_size: int = 16,
    progress: Progress = _no_progress,
) -> tuple[Scored, dict[str, Any]]:
    bundle = load_bundle(bundle_path)
    scored = score_records(
        bundle, records, threads=threads, batch_size=batch_size, progress=progress
    )
    return scored, compute_metrics(scored, bundle)


def card_differences(
    recorded: dict[str, Any], fresh: dict[str, Any], tol: float = 1e-6
) -> list[str]:
    """Where a fresh evaluation disagrees with the metrics recorded in a card (empty: none)."""
    problems: list[str] = []
    if recorded.get("records_hash") != fresh.get("records_hash"):
        return [
            "the card's metrics were measured on different images "
            f"(records hash {str(recorded.get('records_hash'))[:12]}… vs "
            f"{str(fresh.get('records_hash'))[:12]}…)"
        ]
    if recorded.get("bundle", {}).get("sha256") != fresh["bundle"]["sha256"]:
        problems.append("the card's metrics belong to another ONNX file")
    for name, entry in fresh["targets"].items():
        old = recorded.get("targets", {}).get(name, {}).get("value")
        new = entry["value"]
        if (old is None) != (new is None) or (
            old is not None and new is not None and abs(old - new) > tol
        ):
            problems.append(f"{name}: card {old}, now {new}")
    for label, entry in fresh["per_label"].items():
        old = recorded.get("per_label", {}).get(label, {})
        for key in ("support", "predicted", "correct"):
            if old.get(key) != entry[key]:
                problems.append(f"{label} {key}: card {old.get(key)}, now {entry[key]}")
    for key, entry in fresh.get("controlled", {}).items():
        for level in ("alert", "review"):
            old = recorded.get("controlled", {}).get(key, {}).get(level, {})
            for count in ("tp", "fp", "fn"):
                if old.get(count) != entry[level][count]:
                    problems.append(
                        f"{key} {level} {count}: card {old.get(count)}, now {entry[level][count]}"
                    )
    return problems
