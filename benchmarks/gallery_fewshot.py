"""Few-shot curve of reference galleries: a label "taught" with k photos, measured honestly.

    python benchmarks/gallery_fewshot.py --model model/releases/<dir> \\
        --data data/plants-v1/manifest.csv --label ornamental_poppy --k 5 10 20 --repeats 20

Protocol (all images come from the built dataset the bundle was trained on):

- Only images the bundle did **not** train on are used: the ``val`` and ``test`` splits.
- Positives: the label's val+test images. Each repeat draws ``k`` of them (whole groups) as
  references; the rest are the held-out positives the gallery is measured on.
- Calibration negatives (stored in the gallery, they set the false-match bound): up to
  ``--cal-per-label`` images per other label from ``val``.
- Test negatives (the change on all other labels): every other-label image in ``test``.
- The label is treated as new: the bundle's own output for it is ignored. "Before" for the
  other labels is the classifier's top label with that output masked out; "after" is the
  gallery label where the gallery matched, else that. Verdict changes come from
  ``apply_gallery`` itself (the code the service runs).

Caveat that the numbers cannot remove: the bundle was trained *with* this label, so its
embedding has seen what separates it; a truly new species (opium poppy) gets an embedding
that never did. ``--model`` can point at a bundle whose embedding is ImageNet-only
(``benchmarks/imagenet_embedding_bundle.py``) to measure that case.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
from collections import Counter, defaultdict
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from plantscout.datasets import Record, read_records
from plantscout.model import Score, Scorer, load_bundle
from plantscout.model.gallery.gallery import Gallery, Negative, Reference, apply_gallery


def score_all(scorer: Scorer, records: list[Record]) -> list[Score]:
    """Score every record once (the slow part), keeping the Score objects with embeddings."""
    scores: list[Score] = []
    batch = scorer.batch_size
    for start in range(0, len(records), batch):
        chunk = records[start : start + batch]
        scores.extend(scorer.score_images([scorer.read(r.path) for r in chunk]))
        print(f"\rscored {len(scores)}/{len(records)}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return scores


def masked_top(score: Score, label: str) -> str:
    probs = {k: v for k, v in score.probabilities.items() if k != label}
    return max(probs, key=probs.__getitem__)


def run(args: argparse.Namespace) -> dict[str, Any]:
    bundle = load_bundle(args.model)
    records = read_records(args.data)
    if not any(r.split for r in records):
        raise SystemExit(f"{args.data} has no splits: give the built manifest the bundle used")
    label = args.label
    rng = random.Random(args.seed)
    positives = [r for r in records if r.label == label and r.split in ("val", "test")]
    cal_pool: dict[str, list[Record]] = defaultdict(list)
    for r in records:
        if r.label != label and r.split == "val" and not r.is_tile:
            cal_pool[r.label].append(r)
    calibration = [
        r
        for pool in cal_pool.values()
        for r in rng.sample(pool, min(len(pool), args.cal_per_label))
    ]
    test_negatives = [
        r for r in records if r.label != label and r.split == "test" and not r.is_tile
    ]
    scorer = Scorer(bundle, intra_op_threads=args.threads, batch_size=16)
    everything = positives + calibration + test_negatives
    scores = score_all(scorer, everything)
    embedder = bundle
    if args.embedding_model:
        # Embeddings from another bundle (e.g. ImageNet-only); classifier columns stay from
        # --model, and verdict changes are not computed (they would mix two networks).
        embedder = load_bundle(args.embedding_model)
        other = score_all(Scorer(embedder, intra_op_threads=args.threads), everything)
        scores = [replace(s, embedding=o.embedding) for s, o in zip(scores, other, strict=True)]
    pos_scores = scores[: len(positives)]
    cal_scores = scores[len(positives) : len(positives) + len(calibration)]
    neg_scores = scores[len(positives) + len(calibration) :]
    pos_emb = np.stack([s.embedding for s in pos_scores])
    neg_emb = np.stack([s.embedding for s in neg_scores])
    neg_labels = np.array([r.label for r in test_negatives], dtype=object)
    before_top = np.array([masked_top(s, label) for s in neg_scores], dtype=object)

    groups: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(positives):
        groups[r.group or r.sha256].append(i)
    group_names = sorted(groups)

    classifier_recall = (
        float(np.mean([s.top_label == label for s in pos_scores]))
        if label in bundle.card.label_keys
        else None
    )
    curve = []
    for k in args.k:
        runs = []
        for repeat in range(args.repeats):
            draw = random.Random(f"{args.seed}|{k}|{repeat}")
            chosen, ref_idx = [], []
            for name in draw.sample(group_names, len(group_names)):
                if len(ref_idx) >= k:
                    break
                chosen.append(name)
                ref_idx.extend(groups[name])
            taken = set(ref_idx)
            held = [i for i in range(len(positives)) if i not in taken]
            gallery = Gallery.new(embedder.identity(), pos_emb.shape[1], name=f"k{k}-r{repeat}")
            gallery.add(
                [
                    Reference(label, positives[i].sha256 or str(i), group=positives[i].group)
                    for i in ref_idx
                ],
                pos_emb[ref_idx],
            )
            gallery.add_negatives(
                [
                    Negative(s.image.sha256, label=r.label)
                    for s, r in zip(cal_scores, calibration, strict=True)
                ],
                np.stack([s.embedding for s in cal_scores]),
            )
            rule = gallery.rules[label]
            if rule.match is None:
                runs.append({"active": False, "note": rule.note})
                continue
            pos_sim = gallery.similarities(pos_emb[held])[label]
            neg_sim = gallery.similarities(neg_emb)[label]
            pos_hit = pos_sim >= rule.match
            neg_hit = neg_sim >= rule.match
            after_top = np.where(neg_hit, label, before_top)
            verdict_changes: Counter[str] = Counter()
            for i in np.flatnonzero(neg_hit) if embedder is bundle else []:
                new = apply_gallery(neg_scores[i], gallery, bundle.card)
                old = neg_scores[i].verdict.value
                if new.verdict.value != old:
                    verdict_changes[f"{neg_labels[i]}: {old}->{new.verdict.value}"] += 1
            per_label = {}
            for other in sorted(set(neg_labels.tolist())):
                mask = neg_labels == other
                per_label[other] = {
                    "n": int(mask.sum()),
                    "false_matches": int((neg_hit & mask).sum()),
                    "correct_before": int((before_top[mask] == other).sum()),
                    "correct_after": int((after_top[mask] == other).sum()),
                }
            runs.append(
                {
                    "active": True,
                    "references": len(ref_idx),
                    "held_out": len(held),
                    "true_matches": int(pos_hit.sum()),
                    "false_matches": int(neg_hit.sum()),
                    "test_negatives": len(neg_scores),
                    "match_threshold": rule.match,
                    "calibration": rule.as_dict(),
                    "per_label": per_label,
                    "verdict_changes": dict(verdict_changes),
                }
            )
        curve.append({"k": k, "runs": runs, "summary": summarise(runs)})
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()} {platform.processor() or ''} ({platform.python_version()})",
        "command": " ".join(sys.argv),
        "bundle": bundle.identity(),
        "embedding_bundle": embedder.identity(),
        "data": str(args.data),
        "label": label,
        "positives": {"images": len(positives), "groups": len(groups)},
        "calibration_negatives": dict(Counter(r.label for r in calibration)),
        "test_negatives": dict(Counter(neg_labels.tolist())),
        "classifier_top_label_recall_on_positives": classifier_recall,
        "curve": curve,
    }


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    active = [r for r in runs if r["active"]]
    if not active:
        return {"active_runs": 0}
    recalls = [r["true_matches"] / r["held_out"] for r in active if r["held_out"]]
    tp = sum(r["true_matches"] for r in active)
    fp = sum(r["false_matches"] for r in active)
    labels = sorted(active[0]["per_label"])
    per_label = {}
    for label in labels:
        n = sum(r["per_label"][label]["n"] for r in active)
        per_label[label] = {
            "n_per_run": active[0]["per_label"][label]["n"],
            "false_match_rate": sum(r["per_label"][label]["false_matches"] for r in active) / n,
            "accuracy_before": sum(r["per_label"][label]["correct_before"] for r in active) / n,
            "accuracy_after": sum(r["per_label"][label]["correct_after"] for r in active) / n,
        }
    changes: Counter[str] = Counter()
    for r in active:
        changes.update(r["verdict_changes"])
    return {
        "active_runs": len(active),
        "runs": len(runs),
        "held_out_per_run": active[0]["held_out"],
        "recall_mean": float(np.mean(recalls)),
        "recall_min": float(np.min(recalls)),
        "recall_max": float(np.max(recalls)),
        "true_matches_total": tp,
        "held_out_total": sum(r["held_out"] for r in active),
        "false_matches_total": fp,
        "test_negatives_total": sum(r["test_negatives"] for r in active),
        "precision_pooled": tp / (tp + fp) if tp + fp else None,
        "calibrated_recall_estimate_mean": float(
            np.mean([r["calibration"]["recall_at_match"] for r in active])
        ),
        "calibrated_false_rate_estimate_mean": float(
            np.mean([r["calibration"]["false_rate_at_match"] or 0.0 for r in active])
        ),
        "calibrated_worst_kind_false_rate_mean": float(
            np.mean([r["calibration"]["worst_false_rate_at_match"] or 0.0 for r in active])
        ),
        "per_label": per_label,
        "verdict_changes_mean_per_run": {k: v / len(active) for k, v in changes.most_common()},
    }


def markdown(result: dict[str, Any]) -> str:
    lines = [
        f"bundle {result['bundle']['name']} {result['bundle']['version']} "
        f"({result['bundle']['sha256'][:12]}), embedding from "
        f"{result['embedding_bundle']['name']} ({result['embedding_bundle']['sha256'][:12]}), "
        f"label `{result['label']}` treated as new; "
        f"positives {result['positives']['images']} images / {result['positives']['groups']} groups "
        f"(val+test); calibration negatives {sum(result['calibration_negatives'].values())} (val); "
        f"test negatives {sum(result['test_negatives'].values())} (test: "
        + ", ".join(f"{k} {v}" for k, v in result["test_negatives"].items())
        + ")",
        "",
        "| k | runs | held-out positives / run | gallery recall mean [min–max] | true matches | "
        "false matches / test negatives | precision (pooled) | calibration estimate: recall, false rate (worst kind) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for point in result["curve"]:
        s = point["summary"]
        if not s.get("active_runs"):
            lines.append(f"| {point['k']} | 0 | — | not active | | | | |")
            continue
        lines.append(
            f"| {point['k']} | {s['active_runs']} | {s['held_out_per_run']} | "
            f"{s['recall_mean']:.3f} [{s['recall_min']:.3f}–{s['recall_max']:.3f}] | "
            f"{s['true_matches_total']}/{s['held_out_total']} | "
            f"{s['false_matches_total']}/{s['test_negatives_total']} | "
            f"{s['precision_pooled']:.3f} | "
            f"{s['calibrated_recall_estimate_mean']:.3f}, {s['calibrated_false_rate_estimate_mean']:.3f} "
            f"({s['calibrated_worst_kind_false_rate_mean']:.3f}) |"
        )
    lines += [
        "",
        "Other labels (test split), mean over runs: false-match rate; top-label accuracy before → after",
        "",
    ]
    header = "| label | n | " + " | ".join(f"k={p['k']}" for p in result["curve"]) + " |"
    lines += [header, "| --- | --- | " + " | ".join("---" for _ in result["curve"]) + " |"]
    first = next((p["summary"] for p in result["curve"] if p["summary"].get("active_runs")), None)
    for other in sorted(first["per_label"]) if first else []:
        cells = []
        for point in result["curve"]:
            entry = point["summary"].get("per_label", {}).get(other)
            cells.append(
                "—"
                if entry is None
                else f"{entry['false_match_rate']:.3f}; {entry['accuracy_before']:.3f} → {entry['accuracy_after']:.3f}"
            )
        lines.append(
            f"| {other} | {first['per_label'][other]['n_per_run']} | " + " | ".join(cells) + " |"
        )
    recall = result["classifier_top_label_recall_on_positives"]
    if recall is not None:
        lines += [
            "",
            f"The bundle's own classifier (trained with `{result['label']}`) puts {recall:.3f} "
            "of these positives on top: what training with the label gave, for reference.",
        ]
    for point in result["curve"]:
        changes = point["summary"].get("verdict_changes_mean_per_run")
        if changes:
            text = ", ".join(f"{k} {v:.1f}" for k, v in list(changes.items())[:6])
            lines.append(f"- k={point['k']}: verdict changes on test negatives per run: {text}")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=None, help="Bundle (default: the released default).")
    parser.add_argument(
        "--embedding-model", default=None, help="Take embeddings from this bundle instead."
    )
    parser.add_argument("--data", required=True, type=Path, help="The bundle's built manifest.")
    parser.add_argument("--label", default="ornamental_poppy")
    parser.add_argument("--k", type=int, nargs="+", default=[5, 10, 20])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--cal-per-label", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None, help="Write the full JSON here.")
    parser.add_argument(
        "--embedding-only",
        action="store_true",
        help="--model has no trained classifier (e.g. the ImageNet-embedding bundle): omit the "
        "classifier-based columns (top-label accuracy, verdict changes).",
    )
    args = parser.parse_args()
    result = run(args)
    result["embedding_only"] = args.embedding_only
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", "utf-8")
    print(f"date {result['date']}; machine {result['machine']}; command: {result['command']}")
    print(markdown(result))


if __name__ == "__main__":
    main()
