"""Every evaluation number, with its counts, from one scored set of images (numpy only).

``compute_metrics`` reads top to bottom as the report does: what was scored, each label at
the argmax, the controlled species at the card's thresholds, stand-ins, false alarms,
calibration, background rejection, verdicts, then the breakdowns that show *where* a number
comes from (per source, per source family, per negative species, familiarity) and finally
the targets. Each step is a function of the same ``_View`` of the scored images.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from plantscout.datasets import manifest_hash
from plantscout.model import Bundle

from . import metrics as M
from .families import family_of
from .policy import is_controlled

if TYPE_CHECKING:
    from .evaluate import Scored

# The issue-11 targets (the look-alike rate is issue 3's, kept for comparison).
TARGETS = {
    "cannabis_recall_at_alert": 0.95,
    "cannabis_precision_at_alert": 0.95,
    "lookalike_and_poppy_cannabis_alert_rate": 0.05,
    "worst_negative_species_cannabis_alert_rate": 0.02,
    "poppy_family_opium_poppy_review_rate": 0.95,
    "poppy_family_opium_poppy_alerts": 0,
    "background_vs_plant_auroc": 0.98,
    "ece_after_temperature": 0.05,
}
AT_MOST = {
    "lookalike_and_poppy_cannabis_alert_rate",
    "worst_negative_species_cannabis_alert_rate",
    "poppy_family_opium_poppy_alerts",
    "ece_after_temperature",
}
# A negative species counts for the "no species above 2 % alerts" target from this many photos.
MIN_SPECIES_IMAGES = 20


def rate(count: int, n: int) -> dict[str, Any]:
    return {"rate": (count / n) if n else None, "count": int(count), "n": int(n)}


@dataclass(frozen=True)
class _View:
    """The scored images as aligned arrays (``known``: label is a model output)."""

    scored: Scored
    card: Any
    known: np.ndarray
    probs: np.ndarray  # known rows only
    truth: np.ndarray  # known rows only, label index
    pred: np.ndarray  # known rows only, argmax
    sources: np.ndarray
    families: np.ndarray
    taxa: np.ndarray
    label_of: np.ndarray
    alert: np.ndarray  # cannabis at alert level (all rows; empty without a cannabis output)

    @classmethod
    def of(cls, scored: Scored, bundle: Bundle) -> _View:
        known = scored.targets >= 0
        probs = scored.probs[known]
        records = scored.records
        cannabis = scored.levels.get("cannabis", [])
        return cls(
            scored=scored,
            card=bundle.card,
            known=known,
            probs=probs,
            truth=scored.targets[known],
            pred=probs.argmax(axis=1),
            sources=np.array([r.source for r in records], dtype=object),
            families=np.array([family_of(r) for r in records], dtype=object),
            taxa=np.array([r.taxon or r.label for r in records], dtype=object),
            label_of=np.array([r.label for r in records], dtype=object),
            alert=np.array([lv == "alert" for lv in cannabis], dtype=bool),
        )


def compute_metrics(scored: Scored, bundle: Bundle) -> dict[str, Any]:
    """Every number the issues ask for, with counts, from one scored set of images."""
    v = _View.of(scored, bundle)
    out = _what_was_scored(v, bundle)
    out["per_label"] = _per_label(v)
    out.update(_accuracy(v, out["per_label"]))
    out["controlled"] = _controlled_at_thresholds(v)
    out["stand_ins"] = _stand_ins(v)
    if v.alert.size:
        out["cannabis_false_alarms"] = _cannabis_false_alarms(v)
    out["calibration"] = _calibration(v)
    if "background" in scored.labels:
        out["rejection"] = _rejection(v)
    out["verdicts"] = _verdicts(v)
    out["per_source"] = _per_group(v, v.sources)
    out["per_family"] = _per_group(v, v.families)
    if v.alert.size:
        out["negative_species"] = _negative_species(v)
    if scored.familiarity is not None:
        out["familiarity"] = _familiarity(v)
    out["targets"] = targets_of(out)
    return out


def _what_was_scored(v: _View, bundle: Bundle) -> dict[str, Any]:
    scored = v.scored
    return {
        "images": len(scored.records),
        "records_hash": manifest_hash(scored.records),
        "bundle": bundle.identity(),
        "temperature": v.card.temperature,
        "unscored_labels": dict(Counter(v.label_of[~v.known].tolist())),
    }


def _per_label(v: _View) -> dict[str, Any]:
    """Each label at the argmax: precision, recall, F1, AP, with the counts behind them."""
    out = {}
    for i, label in enumerate(v.scored.labels):
        tp = int(((v.pred == i) & (v.truth == i)).sum())
        support = int((v.truth == i).sum())
        predicted = int((v.pred == i).sum())
        precision = tp / predicted if predicted else None
        recall = tp / support if support else None
        f1 = (
            2 * precision * recall / (precision + recall)
            if precision and recall
            else (0.0 if support else None)
        )
        out[label] = {
            "average_precision": M.average_precision(v.probs[:, i], v.truth == i)
            if support
            else None,
            "support": support,
            "predicted": predicted,
            "correct": tp,
            "precision": precision,
            "recall": recall,
            "f1": f1,
        }
    return out


def _accuracy(v: _View, per_label: dict[str, Any]) -> dict[str, Any]:
    recalls = [m["recall"] for m in per_label.values() if m["recall"] is not None]
    return {
        "accuracy": float((v.pred == v.truth).mean()) if len(v.truth) else None,
        "balanced_accuracy": float(np.mean(recalls)) if recalls else None,
        "confusion": {
            "labels": list(v.scored.labels),
            "matrix": M.confusion_matrix(v.truth, v.pred, len(v.scored.labels)).tolist(),
        },
    }


def _controlled_at_thresholds(v: _View) -> dict[str, Any]:
    """Controlled labels at the card's thresholds: the levels the service returns."""
    out: dict[str, Any] = {}
    for key in (k for k in v.scored.labels if is_controlled(k)):
        positive = v.label_of == key
        levels = v.scored.levels[key]
        entry: dict[str, Any] = {"positives": int(positive.sum())}
        for level in ("alert", "review"):
            raised = np.array(
                [lv == "alert" or (level == "review" and lv == "review") for lv in levels]
            )
            tp = int((raised & positive).sum())
            fp = int((raised & ~positive).sum())
            fn = int((~raised & positive).sum())
            entry[level] = {
                "threshold": getattr(v.card.label(key).thresholds, level),
                "recall": tp / (tp + fn) if tp + fn else None,
                "precision": tp / (tp + fp) if tp + fp else None,
                "tp": tp,
                "fp": fp,
                "fn": fn,
                "missed_by_source": dict(Counter(v.sources[positive & ~raised].tolist())),
                "false_alarms_by_label": dict(Counter(v.label_of[raised & ~positive].tolist())),
                "false_alarms_by_source": dict(Counter(v.sources[raised & ~positive].tolist())),
            }
        out[key] = entry
    return out


def _stand_ins(v: _View) -> dict[str, Any]:
    """Stand-ins: e.g. ornamental poppy raising opium poppy to review (never alert)."""
    out: dict[str, Any] = {}
    for label in v.card.labels:
        if not label.review_for:
            continue
        levels = v.scored.levels[label.review_for]
        raised = np.array([lv == "review" for lv in levels])
        alerted = np.array([lv == "alert" for lv in levels])
        own = v.label_of == label.key
        out[label.key] = {
            "review_for": label.review_for,
            "review_threshold": label.thresholds.review,
            "review_rate_on_own_label": rate(int((raised & own).sum()), int(own.sum())),
            "precision": (int((raised & own).sum()) / int(raised.sum())) if raised.any() else None,
            "raised_by_label": dict(Counter(v.label_of[raised].tolist())),
            "any_alert": bool(alerted.any()),
            "alerts": int(alerted.sum()),
        }
    return out


def _cannabis_false_alarms(v: _View) -> dict[str, Any]:
    """Images that are not cannabis raised to cannabis alert."""
    by_label = {
        label: rate(int((v.alert & (v.label_of == label)).sum()), int((v.label_of == label).sum()))
        for label in sorted(set(v.label_of.tolist()))
        if label != "cannabis"
    }
    confusable = np.isin(v.label_of, ["cannabis_lookalike", "ornamental_poppy"])
    return {
        "by_label": by_label,
        "lookalike_and_poppy": rate(int((v.alert & confusable).sum()), int(confusable.sum())),
        "by_source": dict(Counter(v.sources[v.alert & (v.label_of != "cannabis")].tolist())),
    }


def _calibration(v: _View) -> dict[str, Any]:
    """ECE and NLL before / after the card's temperature, overall and by source."""
    logits = v.scored.logits[v.known]
    sources = v.sources[v.known]
    has = len(v.truth) > 0
    return {
        "ece_before": M.ece(M.softmax(logits, 1.0), v.truth),
        "ece_after": M.ece(v.probs, v.truth),
        "nll_before": M.nll(logits, v.truth, 1.0) if has else None,
        "nll_after": M.nll(logits, v.truth, v.card.temperature) if has else None,
        "ece_after_by_source": {
            s: M.ece(v.probs[sources == s], v.truth[sources == s])
            for s in sorted(set(sources.tolist()))
        },
    }


def _rejection(v: _View) -> dict[str, Any]:
    """Unknown-image rejection: background vs any plant, scored by P(background)."""
    labels = v.scored.labels
    bg = v.label_of == "background"
    p_bg = v.scored.probs[:, labels.index("background")]
    unusable = np.array([verdict == "unusable" for verdict in v.scored.verdicts])
    return {
        "auroc_background_vs_plant": M.auroc(p_bg, bg),
        "n_background": int(bg.sum()),
        "n_plant": int((~bg).sum()),
        "unusable_rate_background": rate(int((unusable & bg).sum()), int(bg.sum())),
        "unusable_rate_plant": rate(int((unusable & ~bg).sum()), int((~bg).sum())),
        "plants_marked_unusable_by_source": dict(Counter(v.sources[unusable & ~bg].tolist())),
    }


def _verdicts(v: _View) -> dict[str, dict[str, int]]:
    table: dict[str, dict[str, int]] = defaultdict(dict)
    pairs = Counter(zip(v.label_of.tolist(), v.scored.verdicts, strict=True))
    for (label, verdict), n in pairs.items():
        table[label][verdict] = n
    return {k: dict(sorted(row.items())) for k, row in sorted(table.items())}


def _per_group(v: _View, groups: np.ndarray) -> dict[str, Any]:
    """Per source (or family): accuracy, cannabis recall at alert, alerts on the others, and
    the AP of this group's cannabis against every non-cannabis image scored."""
    scored = v.scored
    pred = scored.probs.argmax(axis=1)
    p_cannabis = (
        scored.probs[:, scored.labels.index("cannabis")] if "cannabis" in scored.labels else None
    )
    negatives = v.label_of != "cannabis"
    out = {}
    for group in sorted(set(groups.tolist())):
        mask = groups == group
        entry: dict[str, Any] = {
            "n": int(mask.sum()),
            "labels": dict(Counter(v.label_of[mask].tolist())),
            "accuracy": float((pred[mask] == scored.targets[mask]).mean()),
        }
        if v.alert.size:
            cannabis = mask & ~negatives
            other = mask & negatives
            if cannabis.any():
                entry["cannabis_recall_at_alert"] = rate(
                    int(v.alert[cannabis].sum()), int(cannabis.sum())
                )
                if p_cannabis is not None and negatives.any():
                    pool = cannabis | negatives
                    entry["cannabis_ap_vs_all_negatives"] = M.average_precision(
                        p_cannabis[pool], cannabis[pool]
                    )
            if other.any():
                entry["cannabis_alert_rate_on_non_cannabis"] = rate(
                    int(v.alert[other].sum()), int(other.sum())
                )
        out[group] = entry
    return out


def _negative_species(v: _View) -> dict[str, Any]:
    """Cannabis alerts per negative plant species (manifest taxon), worst first; the target
    counts species with at least ``MIN_SPECIES_IMAGES`` photos. Background images (no plant)
    are not a species: their alerts are in ``cannabis_false_alarms.by_label``."""
    negatives = (v.label_of != "cannabis") & (v.label_of != "background")
    table = []
    for taxon in sorted(set(v.taxa[negatives].tolist())):
        mask = negatives & (v.taxa == taxon)
        alerts = int(v.alert[mask].sum())
        table.append(
            {
                "taxon": taxon,
                "label": Counter(v.label_of[mask].tolist()).most_common(1)[0][0],
                "sources": sorted(set(v.sources[mask].tolist())),
                **rate(alerts, int(mask.sum())),
            }
        )
    table.sort(key=lambda e: (-(e["rate"] or 0.0), -e["n"], e["taxon"]))
    counted = [e for e in table if e["n"] >= MIN_SPECIES_IMAGES]
    worst = counted[0] if counted else None
    return {
        "min_images": MIN_SPECIES_IMAGES,
        "species": len(table),
        "species_counted": len(counted),
        "worst": worst,
        "above_2_percent": [e for e in counted if (e["rate"] or 0.0) > 0.02],
        "table": table,
    }


def _familiarity(v: _View) -> dict[str, Any]:
    """How the familiarity gate acted: alerts it lowered to review, by label."""
    gate = v.card.familiarity
    values = v.scored.familiarity
    assert gate is not None and values is not None
    alert = v.card.label(gate.label).thresholds.alert
    p = v.scored.probs[:, v.scored.labels.index(gate.label)]
    cut = gate.alert_min if gate.alert_min is not None else -np.inf
    lowered = (p >= (alert if alert is not None else np.inf)) & (values < cut)
    positive = v.label_of == gate.label
    return {
        "label": gate.label,
        "alert_min": gate.alert_min,
        "lowered_to_review_by_label": dict(Counter(v.label_of[lowered].tolist())),
        "lowered_positives": rate(int((lowered & positive).sum()), int(positive.sum())),
        "lowered_negatives": rate(int((lowered & ~positive).sum()), int((~positive).sum())),
        "auroc_positive_vs_negative": M.auroc(values, positive),
    }


def targets_of(m: dict[str, Any]) -> dict[str, Any]:
    """The targets with their values and whether each is met."""
    values: dict[str, float | None] = {}
    cannabis = m.get("controlled", {}).get("cannabis", {}).get("alert")
    if cannabis:
        values["cannabis_recall_at_alert"] = cannabis["recall"]
        values["cannabis_precision_at_alert"] = cannabis["precision"]
    if "cannabis_false_alarms" in m:
        values["lookalike_and_poppy_cannabis_alert_rate"] = m["cannabis_false_alarms"][
            "lookalike_and_poppy"
        ]["rate"]
    worst = m.get("negative_species", {}).get("worst")
    if "negative_species" in m:
        values["worst_negative_species_cannabis_alert_rate"] = worst["rate"] if worst else None
    poppy = m.get("stand_ins", {}).get("ornamental_poppy")
    if poppy:
        values["poppy_family_opium_poppy_review_rate"] = poppy["review_rate_on_own_label"]["rate"]
        values["poppy_family_opium_poppy_alerts"] = poppy.get("alerts", int(poppy["any_alert"]))
    if "rejection" in m:
        values["background_vs_plant_auroc"] = m["rejection"]["auroc_background_vs_plant"]
    values["ece_after_temperature"] = m["calibration"]["ece_after"]
    out = {}
    for name, value in values.items():
        target = TARGETS[name]
        upper = name in AT_MOST
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
