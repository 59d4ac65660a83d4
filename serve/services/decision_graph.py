"""The bundle's decision rules compiled into a small ONNX graph, so a phone decides offline
exactly as the service does.

The field page runs the bundle's own ``model.onnx`` in the browser (onnxruntime-web) and then
this graph, generated here from the card: temperature, per-label ``alert`` / ``review``
thresholds, stand-in labels (which raise an untrained controlled species to ``review`` only),
the familiarity gate of ``/2`` cards (an alert less familiar than ``alert_min`` becomes
``review``, marked unfamiliar), the ``unusable`` rules (too small, too dark, no plant) and the
combined verdict. The browser never re-types a rule: it runs this graph and only turns its
integer codes into words with :func:`legend`. ``tests/serve/test_serve_ondevice.py`` checks the
graph against :func:`plantscout.model.score.score_from_logits` on the same numbers.

Probabilities and threshold comparisons are done in float64 like the Python rules; luma and
familiarity in float32 like :mod:`plantscout.model.preprocess` and
:mod:`plantscout.model.familiarity`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from plantscout.model.bundle import Bundle, Card
from plantscout.model.score import (
    STAND_IN_MESSAGE,
    UNFAMILIAR_MESSAGE,
    UNUSABLE_REASONS,
    Verdict,
)
from plantscout.model.taxonomy import TAXONOMY, Role

OPSET = 17
IR_VERSION = 8  # onnxruntime-web 1.31 and the service's onnxruntime both read it
# Output codes. Verdict codes are the verdicts' ranks (unusable < clear < review < suspected).
VERDICTS = tuple(sorted(Verdict, key=lambda v: v.rank))
REASONS = (None, "not_a_plant", "too_dark", "too_small")
LEVELS = (None, "review", "alert")


def controlled_keys() -> tuple[str, ...]:
    """Controlled species in taxonomy order: the order of a score's ``species`` list."""
    return tuple(k for k, v in TAXONOMY.items() if v.role is Role.CONTROLLED)


class _Builder:
    """A few helpers over ``onnx.helper`` that name every intermediate value uniquely."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self._n = 0

    def name(self, hint: str) -> str:
        self._n += 1
        return f"{hint}_{self._n}"

    def const(self, value: Any, dtype: Any, hint: str = "c") -> str:
        name = self.name(hint)
        self.initializers.append(numpy_helper.from_array(np.asarray(value, dtype), name))
        return name

    def op(self, op_type: str, inputs: list[str], hint: str | None = None, **attrs: Any) -> str:
        out = self.name(hint or op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [out], **attrs))
        return out

    def output(self, op_type: str, inputs: list[str], name: str, **attrs: Any) -> str:
        self.nodes.append(helper.make_node(op_type, inputs, [name], **attrs))
        return name


def build_decision_graph(card: Card, references: np.ndarray | None = None) -> bytes:
    """The ONNX decision graph for one bundle (serialised model bytes).

    Inputs: ``logits`` float32 [N, labels]; ``image`` float32 [N, 3, S, S] (the network's
    input, for the too-dark rule); ``min_side`` int64 [N] (the decoded photo's shorter side);
    and, for a bundle with a familiarity gate, ``embedding`` float32 [N, D]. ``references``
    are the gate's reference embeddings exactly as the bundle stores them (float16, see
    :func:`read_references`).
    Outputs: ``probabilities`` float64 [N, labels]; ``top_label`` int64 [N];
    ``levels`` int64 [N, C] (index into :data:`LEVELS`); ``via`` int64 [N, C] (label index of
    the stand-in that raised the species, else -1); ``unfamiliar`` bool [N, C];
    ``familiarity`` float32 [N] (gated bundles only); ``verdict`` int64 [N] (index into
    :data:`VERDICTS`); ``reason`` int64 [N] (index into :data:`REASONS`). C is
    :func:`controlled_keys`.
    """
    gate = card.familiarity
    if (references is None) != (gate is None):
        raise ValueError("pass the references exactly when the card has a familiarity gate")
    b = _Builder()
    keys = card.label_keys
    size = card.preprocessing.input_size
    inputs = [
        helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", len(keys)]),
        helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3, size, size]),
        helper.make_tensor_value_info("min_side", TensorProto.INT64, ["N"]),
    ]
    i64 = np.int64

    # Calibrated probabilities (float64, like plantscout.model.score.softmax).
    scaled = b.op(
        "Div",
        [
            b.op("Cast", ["logits"], to=TensorProto.DOUBLE),
            b.const(card.temperature, np.float64, "temperature"),
        ],
    )
    b.output("Softmax", [scaled], "probabilities", axis=-1)
    b.output("ArgMax", ["probabilities"], "top_label", axis=1, keepdims=0)

    def prob(index: int) -> str:
        return b.op("Gather", ["probabilities", b.const(index, i64, "label")], axis=1)

    def at_least(p: str, threshold: float) -> str:
        return b.op("GreaterOrEqual", [p, b.const(threshold, np.float64, "threshold")])

    zeros = b.op(
        "ConstantOfShape",
        [b.op("Shape", ["min_side"])],
        value=numpy_helper.from_array(np.zeros(1, i64)),
    )
    minus_one = b.op("Sub", [zeros, b.const(1, i64)])
    one, two = b.const(1, i64, "one"), b.const(2, i64, "two")
    never = b.op("Less", [zeros, zeros], "never")

    # Familiarity: mean cosine similarity to the k nearest references of the gated label.
    fam_value: str | None = None
    if gate is not None:
        assert references is not None
        dim = references.shape[1]
        inputs.append(helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", dim]))
        stored = b.const(references, np.float16, "references")
        refs = _normalise(b, b.op("Cast", [stored], to=TensorProto.FLOAT))
        query = _normalise(b, "embedding")
        sims = b.op("MatMul", [query, b.op("Transpose", [refs], perm=[1, 0])])
        k = max(1, min(gate.k, len(references)))
        top = b.name("top")
        b.nodes.append(
            helper.make_node("TopK", [sims, b.const([k], i64, "k")], [top, b.name("idx")], axis=1)
        )
        b.output("ReduceMean", [top], "familiarity", axes=[1], keepdims=0)
        fam_value = b.op("Cast", ["familiarity"], to=TensorProto.DOUBLE)

    levels, vias, unfamiliars = [], [], []
    for key in controlled_keys():
        via, unfamiliar = minus_one, never
        if key in keys:
            thresholds = card.label(key).thresholds
            level = zeros
            if thresholds.review is not None:
                level = b.op(
                    "Where", [at_least(prob(keys.index(key)), thresholds.review), one, level]
                )
            if thresholds.alert is not None:
                level = b.op(
                    "Where", [at_least(prob(keys.index(key)), thresholds.alert), two, level]
                )
            if gate is not None and gate.label == key and gate.alert_min is not None:
                assert fam_value is not None
                unfamiliar = b.op(
                    "And",
                    [
                        b.op("Equal", [level, two]),
                        b.op("Less", [fam_value, b.const(gate.alert_min, np.float64, "alert_min")]),
                    ],
                )
                level = b.op("Where", [unfamiliar, one, level])
        else:
            # Stand-ins in card order; the first one at its review threshold is named (`via`).
            stand_ins = [lab for lab in card.labels if lab.review_for == key]
            for stand_in in reversed(stand_ins):
                if stand_in.thresholds.review is None:
                    continue
                hit = at_least(prob(keys.index(stand_in.key)), stand_in.thresholds.review)
                via = b.op("Where", [hit, b.const(keys.index(stand_in.key), i64, "via"), via])
            level = b.op("Where", [b.op("GreaterOrEqual", [via, zeros]), one, zeros])
        levels.append(b.op("Unsqueeze", [level, b.const([1], i64, "axis")]))
        vias.append(b.op("Unsqueeze", [via, b.const([1], i64, "axis")]))
        unfamiliars.append(b.op("Unsqueeze", [unfamiliar, b.const([1], i64, "axis")]))
    b.output("Concat", levels, "levels", axis=1)
    b.output("Concat", vias, "via", axis=1)
    b.output("Concat", unfamiliars, "unfamiliar", axis=1)

    # Photo quality (plantscout.model.scorer.Scorer._quality_reason): too small, too dark.
    rule = card.decision
    spec = card.preprocessing
    too_small = b.op("Less", ["min_side", b.const(rule.min_side, i64, "min_side")])
    rgb = b.op(
        "Add",
        [
            b.op("Mul", ["image", b.const(np.reshape(spec.std, (1, 3, 1, 1)), np.float32, "std")]),
            b.const(np.reshape(spec.mean, (1, 3, 1, 1)), np.float32, "mean"),
        ],
    )
    weights = b.const(np.reshape([0.299, 0.587, 0.114], (1, 3, 1, 1)), np.float32, "luma")
    luma = b.op("ReduceSum", [b.op("Mul", [rgb, weights]), b.const([1], i64)], keepdims=0)
    mean_luma = b.op("ReduceMean", [luma], axes=[1, 2], keepdims=0)
    too_dark = b.op(
        "Less",
        [
            b.op("Cast", [mean_luma], to=TensorProto.DOUBLE),
            b.const(rule.min_mean_luma, np.float64, "min_luma"),
        ],
    )
    quality = b.op(
        "Where",
        [
            too_small,
            b.const(REASONS.index("too_small"), i64),
            b.op("Where", [too_dark, b.const(REASONS.index("too_dark"), i64), zeros]),
        ],
    )

    # The verdict (plantscout.model.score.decide).
    highest = b.op("ReduceMax", ["levels"], axes=[1], keepdims=0)
    any_alert = b.op("Equal", [highest, two])
    any_level = b.op("GreaterOrEqual", [highest, one])
    no_plant = never
    if rule.unusable_label is not None:
        no_plant = b.op(
            "And",
            [
                at_least(prob(keys.index(rule.unusable_label)), rule.unusable_min_probability),
                b.op("Not", [any_level]),
            ],
        )
    code = {v: b.const(VERDICTS.index(v), i64, v.value) for v in VERDICTS}
    undecided = b.op("Where", [any_level, code[Verdict.REVIEW], code[Verdict.CLEAR]])
    decided = b.op(
        "Where",
        [
            any_alert,
            code[Verdict.SUSPECTED],
            b.op("Where", [no_plant, code[Verdict.UNUSABLE], undecided]),
        ],
    )
    has_quality = b.op("Greater", [quality, zeros])
    b.output("Where", [has_quality, code[Verdict.UNUSABLE], decided], "verdict")
    not_a_plant = b.op(
        "Where",
        [
            b.op("And", [no_plant, b.op("Not", [any_alert])]),
            b.const(REASONS.index("not_a_plant"), i64),
            zeros,
        ],
    )
    b.output("Where", [has_quality, quality, not_a_plant], "reason")

    n_controlled = len(controlled_keys())
    outputs = [
        helper.make_tensor_value_info("probabilities", TensorProto.DOUBLE, ["N", len(keys)]),
        helper.make_tensor_value_info("top_label", TensorProto.INT64, ["N"]),
        helper.make_tensor_value_info("levels", TensorProto.INT64, ["N", n_controlled]),
        helper.make_tensor_value_info("via", TensorProto.INT64, ["N", n_controlled]),
        helper.make_tensor_value_info("unfamiliar", TensorProto.BOOL, ["N", n_controlled]),
        helper.make_tensor_value_info("verdict", TensorProto.INT64, ["N"]),
        helper.make_tensor_value_info("reason", TensorProto.INT64, ["N"]),
    ]
    if gate is not None:
        outputs.append(helper.make_tensor_value_info("familiarity", TensorProto.FLOAT, ["N"]))
    graph = helper.make_graph(
        b.nodes, f"{card.name}-{card.version}-decision", inputs, outputs, b.initializers
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="plantscout",
        doc_string=f"Decision rules of {card.name} {card.version} ({card.onnx_sha256})",
    )
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model, full_check=True)
    return model.SerializeToString()


def read_references(bundle: Bundle) -> np.ndarray | None:
    """The familiarity references exactly as stored beside the bundle's ONNX (float16), or
    None for a bundle without a gate. The file's sha256 was checked when the bundle loaded."""
    gate = bundle.card.familiarity
    if gate is None:
        return None
    with np.load(bundle.path / gate.file, allow_pickle=False) as npz:
        return np.asarray(npz["references"])


def _normalise(b: _Builder, value: str) -> str:
    """Rows divided by max(L2 norm, 1e-12), as plantscout.model.familiarity.normalise."""
    norm = b.op("ReduceL2", [value], axes=[-1], keepdims=1)
    return b.op("Div", [value, b.op("Max", [norm, b.const(1e-12, np.float32, "eps")])])


def legend(card: Card) -> dict[str, Any]:
    """What the graph's integer codes mean, and the words a score shows, for the page."""
    keys = card.label_keys
    gate = card.familiarity
    species = []
    for key in controlled_keys():
        label = TAXONOMY[key]
        species.append(
            {
                "key": key,
                "scientific_name": label.scientific_name,
                "name": label.name.as_dict(),
                "trained": key in keys,
                "label_index": keys.index(key) if key in keys else None,
                "gated": gate is not None and gate.label == key,
            }
        )
    return {
        "labels": list(keys),
        "verdicts": [v.value for v in VERDICTS],
        "reasons": list(REASONS),
        "levels": list(LEVELS),
        "species": species,
        "messages": {
            "stand_in": STAND_IN_MESSAGE.as_dict(),
            "unfamiliar": UNFAMILIAR_MESSAGE.as_dict(),
            "unusable": {k: v.as_dict() for k, v in UNUSABLE_REASONS.items()},
        },
    }
