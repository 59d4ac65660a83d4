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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from plantscout.datasets import Record
from plantscout.model import Bundle, Scorer, load_bundle

from .measures import TARGETS, compute_metrics  # noqa: F401 (re-exported)

Progress = Callable[[Iterable[Any], int, str], Iterable[Any]]


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
    # Gated bundles: each image's familiarity to the gated label's training photos.
    familiarity: np.ndarray | None = None
    embeddings: np.ndarray | None = None  # (N, D) when scored through a bundle


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
    levels = {key: [level_of(s.species_score(key)) for s in scores] for key in species}
    gate = card.familiarity
    return Scored(
        records=list(records),
        labels=labels,
        targets=np.array([index.get(r.label, -1) for r in records], np.int64),
        probs=probs,
        logits=logits,
        verdicts=[s.verdict.value for s in scores],
        levels=levels,
        temperature=card.temperature,
        familiarity=None
        if gate is None
        else np.array([s.species_score(gate.label).familiarity for s in scores], np.float64),
        embeddings=np.stack([s.embedding for s in scores]) if scores else None,
    )


def take(scored: Scored, rows: Sequence[int] | np.ndarray) -> Scored:
    """The scored images at ``rows`` (a subset, or a reordering), every field aligned."""
    rows = np.asarray(rows, np.int64)
    return Scored(
        records=[scored.records[i] for i in rows],
        labels=scored.labels,
        targets=scored.targets[rows],
        probs=scored.probs[rows],
        logits=scored.logits[rows],
        verdicts=[scored.verdicts[i] for i in rows],
        levels={k: [v[i] for i in rows] for k, v in scored.levels.items()},
        temperature=scored.temperature,
        familiarity=None if scored.familiarity is None else scored.familiarity[rows],
        embeddings=None if scored.embeddings is None else scored.embeddings[rows],
    )


def level_of(species: Any) -> str | None:
    return species.level.value if species is not None and species.level else None


def _tile(path: Path, size: int) -> np.ndarray:
    from PIL import Image

    from plantscout.model import read_image

    image = read_image(path).image
    if image.size != (size, size):
        image = image.resize((size, size), Image.Resampling.BICUBIC)
    return np.asarray(image.convert("RGB"))


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
    recorded_targets = recorded.get("targets", {})
    for name, entry in fresh["targets"].items():
        if name not in recorded_targets:
            continue  # measured since the card was written (e.g. issue-11 targets on 1.0.0)
        old = recorded_targets[name].get("value")
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
