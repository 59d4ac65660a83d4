"""PyTorch -> ONNX in the bundle contract, and the parity check that guards it.

Contract (``plantscout.model.bundle``): input ``image`` float32 [N,3,S,S] with a dynamic batch;
outputs ``logits`` [N,K] and ``embedding`` [N,D] (L2-normalised). The parity check runs real
validation images — preprocessed by ``plantscout.model.preprocess`` — through both PyTorch and
ONNX Runtime and refuses the export when they disagree by more than a tolerance: an exporter
bug must not ship as a model that scores differently from the one that was evaluated.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from plantscout.datasets import Record
from plantscout.model import Preprocessing
from plantscout.model.bundle import EMBEDDING_OUTPUT, INPUT_NAME, LOGITS_OUTPUT

from .data import eval_tensor

OPSET = 18


class ExportRefused(RuntimeError):
    """The exported graph does not match the PyTorch model closely enough to ship."""


def export_onnx(net: torch.nn.Module, path: Path, input_size: int) -> None:
    """Write a single-file ONNX graph with a dynamic batch dimension."""
    net = net.eval().cpu()
    example = (torch.zeros(2, 3, input_size, input_size),)
    batch = torch.export.Dim("batch", min=1, max=4096)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(
            net,
            example,
            input_names=[INPUT_NAME],
            output_names=[LOGITS_OUTPUT, EMBEDDING_OUTPUT],
            dynamic_shapes=({0: batch},),
            opset_version=OPSET,
            dynamo=True,
            verbose=False,
        )
    program.save(str(path), external_data=False)
    _strip_debug_metadata(path)


def _strip_debug_metadata(path: Path) -> None:
    """Drop per-node source locations and stack traces the exporter records.

    They name files on the exporting machine (its checkout path, its virtualenv), so with them
    the same weights would hash differently on every machine; they also cost megabytes.
    """
    import onnx

    model = onnx.load(str(path))
    graphs = [model.graph]
    while graphs:
        graph = graphs.pop()
        for node in graph.node:
            del node.metadata_props[:]
            node.doc_string = ""
            for attribute in node.attribute:
                if attribute.type == onnx.AttributeProto.GRAPH:
                    graphs.append(attribute.g)
                graphs.extend(attribute.graphs)
    for function in model.functions:
        for node in function.node:
            del node.metadata_props[:]
    del model.graph.metadata_props[:]
    onnx.save(model, str(path))


@dataclass(frozen=True)
class Parity:
    images: int
    max_abs_logits: float
    max_abs_embedding: float
    top1_agreement: float
    tolerance: float

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def pick_parity_records(records: Sequence[Record], n: int) -> list[Record]:
    """``n`` records spread over labels (round robin, in path order): every class is checked."""
    by_label: dict[str, list[Record]] = {}
    for record in sorted(records, key=lambda r: str(r.path)):
        by_label.setdefault(record.label, []).append(record)
    picked: list[Record] = []
    queues = [list(v) for _, v in sorted(by_label.items())]
    while len(picked) < n and any(queues):
        for queue in queues:
            if queue and len(picked) < n:
                picked.append(queue.pop(0))
    return picked


def check_parity(
    net: torch.nn.Module,
    onnx_path: Path,
    records: Sequence[Record],
    spec: Preprocessing,
    *,
    images: int,
    tolerance: float,
    threads: int = 2,
) -> Parity:
    """Compare PyTorch and ONNX Runtime on ``images`` real validation images."""
    import onnxruntime as ort

    chosen = pick_parity_records(records, images)
    if len(chosen) < images:
        raise ExportRefused(
            f"parity needs {images} real validation images but the val split has "
            f"{len(chosen)}; lower --parity-images only for toy datasets"
        )
    batch = np.stack([eval_tensor(r, spec) for r in chosen]).astype(np.float32)
    with torch.no_grad():
        t_logits, t_emb = (t.numpy() for t in net.eval()(torch.from_numpy(batch)))
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
    o_logits, o_emb = [], []
    for start in range(0, len(batch), 16):  # batches of 16 also exercise the dynamic batch
        lo, em = session.run(
            [LOGITS_OUTPUT, EMBEDDING_OUTPUT], {INPUT_NAME: batch[start : start + 16]}
        )
        o_logits.append(lo)
        o_emb.append(em)
    logits, emb = np.concatenate(o_logits), np.concatenate(o_emb)
    parity = Parity(
        images=len(chosen),
        max_abs_logits=float(np.abs(logits - t_logits).max()),
        max_abs_embedding=float(np.abs(emb - t_emb).max()),
        top1_agreement=float((logits.argmax(1) == t_logits.argmax(1)).mean()),
        tolerance=tolerance,
    )
    if parity.max_abs_logits > tolerance or parity.max_abs_embedding > tolerance:
        raise ExportRefused(
            f"ONNX differs from PyTorch on {parity.images} validation images: max |Δlogits| "
            f"{parity.max_abs_logits:.3g}, max |Δembedding| {parity.max_abs_embedding:.3g} "
            f"(tolerance {tolerance:g}); top-1 agreement {parity.top1_agreement:.3f}"
        )
    return parity
