"""A tiny, deterministic bundle built with the ``onnx`` helper API (no torch).

Tests across the project score real bytes end to end through ONNX Runtime with it. Its
"network" is a colour rule on the mean of each channel — green means cannabis, red means
ornamental poppy, blue means other plant, grey means background — so a test can predict the
verdict of a synthetic image exactly, and a real photo still runs through every real step.
Needs the ``onnx`` package (dev extra).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from .bundle import (
    CARD_FILE,
    CARD_SCHEMA,
    EMBEDDING_OUTPUT,
    INPUT_NAME,
    LOGITS_OUTPUT,
    ONNX_FILE,
    file_sha256,
)

TINY_LABELS = ("cannabis", "ornamental_poppy", "cannabis_lookalike", "other_plant", "background")

# Weights per (R, G, B) channel mean, inputs normalised to [-1, 1]; and biases.
_WEIGHTS = {
    "cannabis": ((-2.0, 4.0, -2.0), 0.0),
    "ornamental_poppy": ((4.0, -2.0, -2.0), 0.0),
    "cannabis_lookalike": ((0.0, 0.0, 0.0), -1.0),
    "other_plant": ((-2.0, -2.0, 4.0), 0.0),
    "background": ((0.0, 0.0, 0.0), 2.0),
}

TINY_THRESHOLDS: dict[str, dict[str, float | None]] = {
    "cannabis": {"alert": 0.8, "review": 0.4},
    "ornamental_poppy": {"alert": None, "review": 0.4},
}


def tiny_onnx_model(labels: tuple[str, ...] = TINY_LABELS, input_size: int = 64):
    """The ONNX ModelProto: GlobalAveragePool -> (logits = xW + b, embedding = x/|x|)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weights = np.array([_WEIGHTS.get(k, ((0.0, 0.0, 0.0), 0.0))[0] for k in labels], np.float32).T
    bias = np.array([_WEIGHTS.get(k, ((0.0, 0.0, 0.0), 0.0))[1] for k in labels], np.float32)
    nodes = [
        helper.make_node("GlobalAveragePool", [INPUT_NAME], ["pooled4d"]),
        helper.make_node("Flatten", ["pooled4d"], ["features"], axis=1),
        helper.make_node("MatMul", ["features", "W"], ["xw"]),
        helper.make_node("Add", ["xw", "b"], [LOGITS_OUTPUT]),
        helper.make_node("ReduceL2", ["features", "axes"], ["norm"], keepdims=1),
        helper.make_node("Add", ["norm", "eps"], ["norm_eps"]),
        helper.make_node("Div", ["features", "norm_eps"], [EMBEDDING_OUTPUT]),
    ]
    graph = helper.make_graph(
        nodes,
        "plantscout_tiny",
        [
            helper.make_tensor_value_info(
                INPUT_NAME, TensorProto.FLOAT, ["batch", 3, input_size, input_size]
            )
        ],
        [
            helper.make_tensor_value_info(LOGITS_OUTPUT, TensorProto.FLOAT, ["batch", len(labels)]),
            helper.make_tensor_value_info(EMBEDDING_OUTPUT, TensorProto.FLOAT, ["batch", 3]),
        ],
        initializer=[
            numpy_helper.from_array(weights, "W"),
            numpy_helper.from_array(bias, "b"),
            numpy_helper.from_array(np.array([1], np.int64), "axes"),
            numpy_helper.from_array(np.array(1e-6, np.float32), "eps"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    onnx.checker.check_model(model)
    return model


def build_tiny_bundle(
    directory: str | Path,
    *,
    labels: tuple[str, ...] = TINY_LABELS,
    input_size: int = 64,
    temperature: float = 1.0,
    thresholds: Mapping[str, Mapping[str, float | None]] = TINY_THRESHOLDS,
    name: str = "tiny-test",
    version: str = "0.0.1",
    card_overrides: Mapping[str, object] | None = None,
) -> Path:
    """Write a valid bundle directory and return its path."""
    import onnx

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    onnx.save(tiny_onnx_model(labels, input_size), str(directory / ONNX_FILE))
    label_entries = []
    for key in labels:
        entry: dict[str, object] = {"key": key, "thresholds": dict(thresholds.get(key, {}))}
        if key == "ornamental_poppy" and "opium_poppy" not in labels:
            entry["review_for"] = "opium_poppy"
        label_entries.append(entry)
    card: dict[str, object] = {
        "schema": CARD_SCHEMA,
        "name": name,
        "version": version,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "architecture": "colour-rule (test only)",
        "onnx": {
            "file": ONNX_FILE,
            "sha256": file_sha256(directory / ONNX_FILE),
            "embedding_dim": 3,
        },
        "labels": label_entries,
        "preprocessing": {
            "input_size": input_size,
            "resize": "shorter_side_center_crop",
            "crop_fraction": 0.875,
            "interpolation": "bicubic",
            "mean": [0.5, 0.5, 0.5],
            "std": [0.5, 0.5, 0.5],
            "layout": "NCHW",
        },
        "calibration": {"temperature": temperature},
        "decision": {"unusable_label": "background", "unusable_min_probability": 0.6},
        "limitations": [
            {"zh": "仅供测试的颜色规则模型", "en": "A colour rule for tests; it knows no plants"}
        ],
    }
    if card_overrides:
        card.update(card_overrides)
    (directory / CARD_FILE).write_text(json.dumps(card, ensure_ascii=False, indent=2), "utf-8")
    return directory


def add_familiarity(
    directory: str | Path,
    references: np.ndarray,
    alert_min: float | None,
    *,
    label: str = "cannabis",
    k: int = 1,
) -> Path:
    """Give a bundle a familiarity gate: write the references beside the ONNX, hash them
    into the card (schema /2). Tests use it on the tiny bundle (3-dim embeddings)."""
    import hashlib

    from .bundle import CARD_SCHEMA_FAMILIARITY
    from .familiarity import FAMILIARITY_FILE, references_bytes

    directory = Path(directory)
    data = references_bytes(np.asarray(references, np.float32))
    (directory / FAMILIARITY_FILE).write_bytes(data)
    card = json.loads((directory / CARD_FILE).read_text("utf-8"))
    card["schema"] = CARD_SCHEMA_FAMILIARITY
    card["familiarity"] = {
        "label": label,
        "k": k,
        "references": len(references),
        "sha256": hashlib.sha256(data).hexdigest(),
        "alert_min": alert_min,
    }
    (directory / CARD_FILE).write_text(json.dumps(card, ensure_ascii=False, indent=2), "utf-8")
    return directory
