"""The model card a training run produces: labels and policy, calibration, data, limitations.

Everything a reader needs to judge the model travels with it: which data (content hash,
sources, licences), which thresholds and why, what was measured and on what, and — in plain
words, in both languages the field teams read — what the model cannot do.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from plantscout.datasets import Record
from plantscout.model import Card, Preprocessing
from plantscout.model.bundle import (
    CARD_SCHEMA,
    CARD_SCHEMA_FAMILIARITY,
    EMBEDDING_OUTPUT,
    INPUT_NAME,
    LOGITS_OUTPUT,
    ONNX_FILE,
)
from plantscout.model.familiarity import FamiliarityRule

from .limitations import NO_OPIUM_POPPY, limitations
from .policy import stand_in_target

__all__ = ["NO_OPIUM_POPPY", "build_card", "source_table"]


def source_table(records: Sequence[Record]) -> list[dict[str, Any]]:
    """Per source: licence(s) as stated and image counts per split."""
    licences: dict[str, Counter[str]] = defaultdict(Counter)
    splits: dict[str, Counter[str]] = defaultdict(Counter)
    for r in records:
        licences[r.source][r.licence or "not stated"] += 1
        splits[r.source][r.split] += 1
    return [
        {
            "source": source,
            "url": f"https://github.com/{source}" if source.count("/") == 1 else None,
            "licences": sorted(licences[source]),
            "images": dict(sorted(splits[source].items())),
        }
        for source in sorted(licences)
    ]


def build_card(
    *,
    name: str,
    version: str,
    onnx_sha256: str,
    architecture: str,
    labels: Sequence[str],
    thresholds: dict[str, dict[str, float | None]],
    preprocessing: Preprocessing,
    temperature: float,
    embedding_dim: int,
    unusable_min_probability: float,
    target_recall: float,
    records: Sequence[Record],
    extra: dict[str, Any],
    notes: Sequence[dict[str, str]] = (),
    familiarity: FamiliarityRule | None = None,
) -> Card:
    label_entries = []
    for key in labels:
        entry: dict[str, Any] = {
            "key": key,
            "thresholds": thresholds.get(key, {"alert": None, "review": None}),
        }
        target = stand_in_target(key, labels)
        if target:
            entry["review_for"] = target
        label_entries.append(entry)
    data: dict[str, Any] = {
        "schema": CARD_SCHEMA_FAMILIARITY if familiarity is not None else CARD_SCHEMA,
        "name": name,
        "version": version,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "architecture": architecture,
        "onnx": {
            "file": ONNX_FILE,
            "sha256": onnx_sha256,
            "input": INPUT_NAME,
            "outputs": [LOGITS_OUTPUT, EMBEDDING_OUTPUT],
            "embedding_dim": embedding_dim,
        },
        "labels": label_entries,
        "preprocessing": preprocessing.as_dict(),
        "calibration": {"temperature": temperature},
        "decision": {
            "unusable_label": "background" if "background" in labels else None,
            "unusable_min_probability": unusable_min_probability,
            "target_recall": target_recall,
        },
        "limitations": limitations(
            records, labels, notes, metrics=extra.get("metrics"), familiarity=familiarity
        ),
        **extra,
    }
    data["calibration"] = {**extra.get("calibration", {}), "temperature": temperature}
    if familiarity is not None:
        data["familiarity"] = familiarity.as_dict()
    return Card.from_dict(data)  # validates: stand-ins without alert, labels, sha256 format
