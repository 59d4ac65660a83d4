"""Candidate vs current bundle on the same images: what changed, per label, with counts.

A retrained model is promoted on evidence, not on one headline number: for every label the
recall and precision of both bundles, how many images each one fixed or broke, and for each
controlled species the alert / review rates on its own photos and the false alarms on
everything else. Labels one bundle has no output for (opium poppy before it was trained) are
compared through what the service would say — the species level — so a new label shows up
as "review via stand-in -> alert".
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from .evaluate import Scored
from .measures import AT_MOST as _AT_MOST


def compare_scored(current: Scored, candidate: Scored) -> dict[str, Any]:
    """Per-label and per-species differences; both must have scored the same records."""
    if [(str(r.path), r.label) for r in current.records] != [
        (str(r.path), r.label) for r in candidate.records
    ]:
        raise ValueError("the two bundles were not scored on the same images")
    records = current.records
    label_of = np.array([r.label for r in records], dtype=object)
    sources = np.array([r.source for r in records], dtype=object)
    top = {name: _top_labels(s) for name, s in (("current", current), ("candidate", candidate))}
    per_label: dict[str, Any] = {}
    for label in sorted(set(label_of.tolist())):
        mask = label_of == label
        entry: dict[str, Any] = {"images": int(mask.sum())}
        for name, scored in (("current", current), ("candidate", candidate)):
            predicted = top[name] == label
            correct = predicted & mask
            entry[name] = {
                "output": label in scored.labels,
                "recall": _ratio(int(correct.sum()), int(mask.sum()))
                if label in scored.labels
                else None,
                "precision": _ratio(int(correct.sum()), int(predicted.sum())),
                "correct": int(correct.sum()),
                "predicted": int(predicted.sum()),
                "verdicts": dict(Counter(np.array(scored.verdicts, dtype=object)[mask].tolist())),
            }
        right_before = top["current"][mask] == label
        right_after = top["candidate"][mask] == label
        entry["fixed"] = int((~right_before & right_after).sum())
        entry["broken"] = int((right_before & ~right_after).sum())
        per_label[label] = entry

    species: dict[str, Any] = {}
    for key in sorted(set(current.levels) & set(candidate.levels)):
        positive = label_of == key
        entry = {"positives": int(positive.sum()), "negatives": int((~positive).sum())}
        for name, scored in (("current", current), ("candidate", candidate)):
            levels = np.array([lv or "" for lv in scored.levels[key]], dtype=object)
            alert = levels == "alert"
            raised = alert | (levels == "review")
            entry[name] = {
                "alert_recall": _ratio(int((alert & positive).sum()), int(positive.sum())),
                "review_or_alert_recall": _ratio(
                    int((raised & positive).sum()), int(positive.sum())
                ),
                "false_alerts": int((alert & ~positive).sum()),
                "false_reviews_or_alerts": int((raised & ~positive).sum()),
                "false_alert_rate": _ratio(int((alert & ~positive).sum()), int((~positive).sum())),
                "false_alerts_by_label": dict(Counter(label_of[alert & ~positive].tolist())),
            }
        species[key] = entry

    by_source: dict[str, Any] = {}
    for source in sorted(set(sources.tolist())):
        mask = sources == source
        by_source[source] = {
            "images": int(mask.sum()),
            **{
                name: {
                    "top_label_accuracy": _ratio(
                        int((top[name][mask] == label_of[mask]).sum()), int(mask.sum())
                    )
                }
                for name in ("current", "candidate")
            },
        }
    return {
        "images": len(records),
        "labels": {"current": list(current.labels), "candidate": list(candidate.labels)},
        "per_label": per_label,
        "species": species,
        "by_source": by_source,
    }


def format_comparison(result: dict[str, Any], current: str, candidate: str) -> str:
    """A plain-text table: current -> candidate (difference), with counts."""
    lines = [f"current = {current}", f"candidate = {candidate}", f"images = {result['images']}", ""]
    lines.append(f"{'label':<20}{'n':>6}  {'recall':<24}{'precision':<24}{'fixed':>6}{'broken':>7}")
    for label, entry in result["per_label"].items():
        c, d = entry["current"], entry["candidate"]
        lines.append(
            f"{label:<20}{entry['images']:>6}  {_change(c['recall'], d['recall']):<24}"
            f"{_change(c['precision'], d['precision']):<24}{entry['fixed']:>6}{entry['broken']:>7}"
        )
    lines.append("")
    lines.append(
        f"{'species':<14}{'pos':>5}  {'alert recall':<24}{'review+ recall':<24}{'false alerts':<20}"
    )
    for key, entry in result["species"].items():
        c, d = entry["current"], entry["candidate"]
        lines.append(
            f"{key:<14}{entry['positives']:>5}  {_change(c['alert_recall'], d['alert_recall']):<24}"
            f"{_change(c['review_or_alert_recall'], d['review_or_alert_recall']):<24}"
            f"{c['false_alerts']} -> {d['false_alerts']} of {entry['negatives']}"
        )
    if result.get("targets"):
        lines.append("")
        lines.append(f"{'target':<46}{'current -> candidate':<28}goal")
        for name, entry in result["targets"].items():
            bound = "<=" if name in _AT_MOST else ">="
            lines.append(
                f"{name:<46}{_change(entry['current'], entry['candidate']):<28}"
                f"{bound} {entry['target']}"
            )
    lines.append("")
    lines.append("top-label accuracy by source:")
    for source, entry in result["by_source"].items():
        c, d = entry["current"], entry["candidate"]
        lines.append(
            f"  {source:<44}{entry['images']:>6}  "
            f"{_change(c['top_label_accuracy'], d['top_label_accuracy'])}"
        )
    return "\n".join(lines) + "\n"


def _top_labels(scored: Scored) -> np.ndarray:
    if not len(scored.records):
        return np.array([], dtype=object)
    return np.array([scored.labels[i] for i in scored.probs.argmax(axis=1)], dtype=object)


def _ratio(count: int, total: int) -> float | None:
    return count / total if total else None


def _change(before: float | None, after: float | None) -> str:
    def fmt(v: float | None) -> str:
        return "—" if v is None else f"{v:.3f}"

    if before is None or after is None:
        return f"{fmt(before)} -> {fmt(after)}"
    before, after = float(before), float(after)
    return f"{fmt(before)} -> {fmt(after)} ({after - before:+.3f})"
