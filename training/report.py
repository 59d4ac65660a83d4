"""The Markdown evaluation report: targets first, then every number with its counts.

``markdown_report`` is the list of sections in reading order; each section is one function
of the metrics dict (``measures.compute_metrics``) that returns its lines, or none when the
metrics have nothing for it.
"""

from __future__ import annotations

import math
from typing import Any

Lines = list[str]


def _f(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _rate(entry: dict[str, Any] | None) -> str:
    if not entry:
        return "—"
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
    title: str | None = None,
) -> str:
    sections = [
        _header(result, split, manifest, dataset_hash, title),
        _targets(result, card_check),
        _per_label(result),
        _controlled(result),
        _stand_ins(result),
        _false_alarms(result),
        _negative_species(result),
        _familiarity(result),
        _calibration(result),
        _rejection(result),
        _verdicts(result),
        _groups(result, "per_source", "Per source"),
        _groups(result, "per_family", "Per source family"),
        _plots(plots),
    ]
    return "\n".join(line for section in sections for line in section) + "\n"


def _header(
    result: dict[str, Any], split: str, manifest: str, dataset_hash: str | None, title: str | None
) -> Lines:
    b = result["bundle"]
    return [
        title or f"# Evaluation: {b['name']} {b['version']} on `{split}`",
        "",
        f"- bundle sha256 `{b['sha256']}`",
        f"- data: `{manifest}` split `{split}`, {result['images']} images "
        f"(records hash `{result['records_hash'][:16]}…`"
        + (f", dataset hash `{dataset_hash[:16]}…`)" if dataset_hash else ")"),
        f"- temperature {_f(result['temperature'], 4)}",
        "- scored through the bundle's decision rule (`plantscout.model.score`, the service's)",
    ]


def _targets(result: dict[str, Any], card_check: list[str] | None) -> Lines:
    lines = ["", "## Targets", "", "| metric | value | target | met |", "| --- | --- | --- | --- |"]
    for name, t in result["targets"].items():
        bound = "≤" if t.get("at_most") else "≥"
        met = {True: "yes", False: "**no**", None: "—"}[t["met"]]
        lines.append(f"| {name} | {_f(t['value'])} | {bound} {t['target']} | {met} |")
    if card_check is not None:
        lines += ["", "Card metrics reproduced: " + ("yes" if not card_check else "**no**")]
        lines += [f"- {c}" for c in card_check]
    return lines


def _per_label(result: dict[str, Any]) -> Lines:
    lines = [
        "",
        "## Per label (argmax)",
        "",
        "| label | support | predicted | precision | recall | F1 | AP |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for label, m in result["per_label"].items():
        lines.append(
            f"| {label} | {m['support']} | {m['predicted']} | {_f(m['precision'])} | "
            f"{_f(m['recall'])} | {_f(m['f1'])} | {_f(m.get('average_precision'))} |"
        )
    lines += [
        "",
        f"Accuracy {_f(result['accuracy'])}, balanced accuracy {_f(result['balanced_accuracy'])}.",
    ]
    return lines


def _controlled(result: dict[str, Any]) -> Lines:
    lines: Lines = []
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
    return lines


def _stand_ins(result: dict[str, Any]) -> Lines:
    if not result.get("stand_ins"):
        return []
    lines = ["", "## Stand-ins (untrained controlled species)", ""]
    for key, m in result["stand_ins"].items():
        lines.append(
            f"- `{key}` → `{m['review_for']}` review at ≥ {_f(m['review_threshold'], 4)}: "
            f"{_rate(m['review_rate_on_own_label'])} of {key} images raised to review; "
            f"precision {_f(m['precision'])}; raised images by label: "
            f"{_counts(m['raised_by_label'])}; alerts: {m.get('alerts', m['any_alert'])}"
        )
    return lines


def _false_alarms(result: dict[str, Any]) -> Lines:
    if "cannabis_false_alarms" not in result:
        return []
    fa = result["cannabis_false_alarms"]
    lines = [
        "",
        "## Cannabis alerts on images that are not cannabis",
        "",
        f"Look-alikes and ornamental poppies together: {_rate(fa['lookalike_and_poppy'])}.",
        "",
        "| label | rate (count/n) |",
        "| --- | --- |",
    ]
    lines += [f"| {label} | {_rate(m)} |" for label, m in fa["by_label"].items()]
    return lines + ["", f"By source: {_counts(fa['by_source'])}."]


def _negative_species(result: dict[str, Any]) -> Lines:
    species = result.get("negative_species")
    if not species:
        return []
    lines = [
        "",
        "## Cannabis alerts per negative species",
        "",
        f"{species['species']} species (manifest taxon); {species['species_counted']} with at "
        f"least {species['min_images']} images count for the target. Species above 2 %: "
        + (", ".join(f"{e['taxon']} {_rate(e)}" for e in species["above_2_percent"]) or "none")
        + ".",
        "",
        "| species | label | alerts (count/n) | sources |",
        "| --- | --- | --- | --- |",
    ]
    shown = [e for e in species["table"] if e["count"]][:25]
    for e in shown:
        lines.append(f"| {e['taxon']} | {e['label']} | {_rate(e)} | {', '.join(e['sources'])} |")
    if not shown:
        lines.append("| (no species raised a cannabis alert) | | | |")
    return lines


def _familiarity(result: dict[str, Any]) -> Lines:
    fam = result.get("familiarity")
    if not fam:
        return []
    return [
        "",
        "## Familiarity gate",
        "",
        f"`{fam['label']}` alerts need familiarity ≥ {_f(fam['alert_min'], 4)}. Lowered to "
        f"review: {_rate(fam['lowered_negatives'])} of the other images, "
        f"{_rate(fam['lowered_positives'])} of the {fam['label']} images (by label: "
        f"{_counts(fam['lowered_to_review_by_label'])}). Familiarity AUROC "
        f"{fam['label']} vs the rest: {_f(fam['auroc_positive_vs_negative'], 4)}.",
    ]


def _calibration(result: dict[str, Any]) -> Lines:
    c = result["calibration"]
    return [
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


def _rejection(result: dict[str, Any]) -> Lines:
    if "rejection" not in result:
        return []
    r = result["rejection"]
    return [
        "",
        "## Unknown-image rejection (background vs plant, by P(background))",
        "",
        f"AUROC {_f(r['auroc_background_vs_plant'], 4)} ({r['n_background']} background, "
        f"{r['n_plant']} plant images). `unusable` verdicts: background "
        f"{_rate(r['unusable_rate_background'])}, plants {_rate(r['unusable_rate_plant'])} "
        f"(by source: {_counts(r['plants_marked_unusable_by_source'])}).",
    ]


def _verdicts(result: dict[str, Any]) -> Lines:
    lines = [
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
    return lines


def _groups(result: dict[str, Any], key: str, title: str) -> Lines:
    if key not in result:
        return []
    lines = [
        "",
        f"## {title}",
        "",
        "| group | n | labels | accuracy | cannabis recall at alert | cannabis AP vs all "
        "negatives | cannabis alerts on others |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for group, m in result[key].items():
        lines.append(
            f"| {group} | {m['n']} | {_counts(m['labels'])} | {_f(m['accuracy'])} | "
            f"{_rate(m.get('cannabis_recall_at_alert'))} | "
            f"{_f(m.get('cannabis_ap_vs_all_negatives'))} | "
            f"{_rate(m.get('cannabis_alert_rate_on_non_cannabis'))} |"
        )
    return lines


def _plots(plots: dict[str, str]) -> Lines:
    if not plots:
        return []
    return ["", "## Plots", ""] + [f"![{title}]({name})" for title, name in plots.items()]
