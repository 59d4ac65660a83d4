"""The Markdown evaluation report: targets first, then every number with its counts."""

from __future__ import annotations

import math
from typing import Any


def _f(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _rate(entry: dict[str, Any]) -> str:
    return f"{_f(entry['rate'])} ({entry['count']}/{entry['n']})"


def _counts(mapping: dict[str, int]) -> str:
    if not mapping:
        return "—"
    return ", ".join(f"{k}: {v}" for k, v in sorted(mapping.items(), key=lambda kv: -kv[1]))


def markdown_report(
    result: dict[str, Any],
    *,
    split: str,
    manifest: str,
    dataset_hash: str | None,
    plots: dict[str, str],
    card_check: list[str] | None = None,
) -> str:
    b = result["bundle"]
    lines = [
        f"# Evaluation: {b['name']} {b['version']} on `{split}`",
        "",
        f"- bundle sha256 `{b['sha256']}`",
        f"- data: `{manifest}` split `{split}`, {result['images']} images "
        f"(records hash `{result['records_hash'][:16]}…`"
        + (f", dataset hash `{dataset_hash[:16]}…`)" if dataset_hash else ")"),
        f"- temperature {result['temperature']:.4f}",
        "- scored through the ONNX bundle with `plantscout.model.Scorer` (the service's code path)",
        "",
        "## Targets (issue 3)",
        "",
        "| metric | value | target | met |",
        "| --- | --- | --- | --- |",
    ]
    for name, t in result["targets"].items():
        bound = "≤" if t.get("at_most") else "≥"
        met = {True: "yes", False: "**no**", None: "—"}[t["met"]]
        lines.append(f"| {name} | {_f(t['value'])} | {bound} {t['target']} | {met} |")
    if card_check is not None:
        lines += ["", "Card metrics reproduced: " + ("yes" if not card_check else "**no**")]
        lines += [f"- {c}" for c in card_check]

    lines += [
        "",
        "## Per label (argmax)",
        "",
        "| label | support | predicted | precision | recall | F1 |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for label, m in result["per_label"].items():
        lines.append(
            f"| {label} | {m['support']} | {m['predicted']} | {_f(m['precision'])} | "
            f"{_f(m['recall'])} | {_f(m['f1'])} |"
        )
    lines.append("")
    lines.append(
        f"Accuracy {_f(result['accuracy'])}, balanced accuracy {_f(result['balanced_accuracy'])}."
    )

    for key, entry in result.get("controlled", {}).items():
        lines += [
            "",
            f"## {key}: at the card's thresholds ({entry['positives']} positives)",
            "",
            "| level | threshold | recall | precision | TP | FP | FN | missed by source | "
            "false alarms by label |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for level in ("alert", "review"):
            m = entry[level]
            lines.append(
                f"| {level} | {_f(m['threshold'], 4)} | {_f(m['recall'])} | {_f(m['precision'])} "
                f"| {m['tp']} | {m['fp']} | {m['fn']} | {_counts(m['missed_by_source'])} | "
                f"{_counts(m['false_alarms_by_label'])} |"
            )

    if result.get("stand_ins"):
        lines += ["", "## Stand-ins (untrained controlled species)", ""]
        for key, m in result["stand_ins"].items():
            lines.append(
                f"- `{key}` → `{m['review_for']}` review at ≥ {_f(m['review_threshold'], 4)}: "
                f"{_rate(m['review_rate_on_own_label'])} of {key} images raised to review; "
                f"precision {_f(m['precision'])}; raised images by label: "
                f"{_counts(m['raised_by_label'])}; any alert: {m['any_alert']}"
            )

    if "cannabis_false_alarms" in result:
        fa = result["cannabis_false_alarms"]
        lines += [
            "",
            "## Cannabis alerts on images that are not cannabis",
            "",
            f"Look-alikes and ornamental poppies together: {_rate(fa['lookalike_and_poppy'])}.",
            "",
            "| label | rate (count/n) |",
            "| --- | --- |",
        ]
        for label, m in fa["by_label"].items():
            lines.append(f"| {label} | {_rate(m)} |")
        lines.append("")
        lines.append(f"By source: {_counts(fa['by_source'])}.")

    c = result["calibration"]
    lines += [
        "",
        "## Calibration",
        "",
        f"ECE (15 bins, top label): {_f(c['ece_before'], 4)} before temperature, "
        f"{_f(c['ece_after'], 4)} after. NLL {_f(c['nll_before'], 4)} → {_f(c['nll_after'], 4)}.",
        "",
        "ECE after temperature by source: "
        + ", ".join(f"{k} {_f(v, 3)}" for k, v in c["ece_after_by_source"].items())
        + ".",
    ]
    if "rejection" in result:
        r = result["rejection"]
        lines += [
            "",
            "## Unknown-image rejection (background vs plant, by P(background))",
            "",
            f"AUROC {_f(r['auroc_background_vs_plant'], 4)} ({r['n_background']} background, "
            f"{r['n_plant']} plant images). `unusable` verdicts: background "
            f"{_rate(r['unusable_rate_background'])}, plants {_rate(r['unusable_rate_plant'])} "
            f"(by source: {_counts(r['plants_marked_unusable_by_source'])}).",
        ]

    lines += [
        "",
        "## Verdicts by true label",
        "",
        "| label | suspected | review | clear | unusable |",
        "| --- | --- | --- | --- | --- |",
    ]
    for label, v in result["verdicts"].items():
        lines.append(
            f"| {label} | {v.get('suspected', 0)} | {v.get('review', 0)} | {v.get('clear', 0)} "
            f"| {v.get('unusable', 0)} |"
        )

    lines += [
        "",
        "## Per source",
        "",
        "| source | n | labels | accuracy | cannabis recall at alert | cannabis alerts on others |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for source, m in result["per_source"].items():
        recall = m.get("cannabis_recall_at_alert")
        others = m.get("cannabis_alert_rate_on_non_cannabis")
        lines.append(
            f"| {source} | {m['n']} | {_counts(m['labels'])} | {_f(m['accuracy'])} | "
            f"{_rate(recall) if recall else '—'} | {_rate(others) if others else '—'} |"
        )

    if plots:
        lines += ["", "## Plots", ""]
        for title, name in plots.items():
            lines.append(f"![{title}]({name})")
    return "\n".join(lines) + "\n"
