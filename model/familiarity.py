"""Familiarity: does this image look like the photos of a label the model was trained on?

A classifier with five outputs answers "which of these five is it most like", so a plant it
never saw (a garden shrub, a diseased leaf, a new camera) can come out as cannabis with a
high probability. Familiarity asks a second question in the bundle's embedding space: how
close is the image to the *training* photos of that label (the mean cosine similarity of its
``k`` nearest references)? An alert needs both: a high probability **and** a familiar
look. A high probability on an unfamiliar image becomes ``review`` ("unfamiliar"), never an
alert, so a person looks instead of the office being told "cannabis".

The references are a small array beside ``model.onnx`` (``familiarity.npz``, float16,
L2-normalised embeddings), named and hashed in the card; numpy only.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import BundleError

FAMILIARITY_FILE = "familiarity.npz"
METHOD = "knn-cosine"


@dataclass(frozen=True)
class FamiliarityRule:
    """The card's ``familiarity`` section: which label is gated, how, and where the cut is."""

    label: str
    k: int
    references: int
    sha256: str
    alert_min: float | None  # an alert below this familiarity becomes review; None: no gate
    file: str = FAMILIARITY_FILE
    method: str = METHOD

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FamiliarityRule:
        try:
            rule = cls(
                label=str(data["label"]),
                k=int(data["k"]),
                references=int(data["references"]),
                sha256=str(data["sha256"]),
                alert_min=None if data.get("alert_min") is None else float(data["alert_min"]),
                file=str(data.get("file", FAMILIARITY_FILE)),
                method=str(data.get("method", METHOD)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise BundleError(f"card familiarity section is malformed: {exc!r}") from exc
        if rule.method != METHOD:
            raise BundleError(f"familiarity method {rule.method!r} is not {METHOD!r}")
        if rule.k < 1 or rule.references < 1:
            raise BundleError("familiarity needs k >= 1 and at least one reference")
        if "/" in rule.file or "\\" in rule.file or rule.file.startswith("."):
            raise BundleError(f"familiarity file {rule.file!r} must be a plain file name")
        if len(rule.sha256) != 64:
            raise BundleError("familiarity sha256 must be 64 hex characters")
        return rule


def normalise(array: np.ndarray) -> np.ndarray:
    array = np.asarray(array, np.float32)
    return array / np.maximum(np.linalg.norm(array, axis=-1, keepdims=True), 1e-12)


def topk_mean_similarity(queries: np.ndarray, references: np.ndarray, k: int) -> np.ndarray:
    """(N,) mean cosine similarity of each query to its ``k`` nearest references."""
    queries = normalise(np.atleast_2d(queries))
    if len(references) == 0:
        return np.full(len(queries), -1.0, np.float64)
    sims = queries @ np.asarray(references, np.float32).T
    k = max(1, min(k, sims.shape[1]))
    top = -np.partition(-sims, k - 1, axis=1)[:, :k]
    return top.mean(axis=1).astype(np.float64)


class Familiarity:
    """The references of one label, ready to measure familiarity of embeddings."""

    def __init__(self, rule: FamiliarityRule, references: np.ndarray) -> None:
        if references.ndim != 2 or len(references) != rule.references:
            raise BundleError(
                f"familiarity references have shape {references.shape}; the card says "
                f"{rule.references} rows"
            )
        self.rule = rule
        self.references = normalise(np.asarray(references, np.float32))

    def __call__(self, embeddings: np.ndarray) -> np.ndarray:
        return topk_mean_similarity(embeddings, self.references, self.rule.k)


def as_stored(references: np.ndarray) -> np.ndarray:
    """References as a bundle holds and a Familiarity uses them: L2-normalised, rounded to
    float16, normalised again (so training measures exactly what serving will)."""
    return normalise(normalise(references).astype(np.float16).astype(np.float32))


def references_bytes(references: np.ndarray) -> bytes:
    """The npz file's exact bytes (float16, L2-normalised): what the card's sha256 covers."""
    buffer = io.BytesIO()
    np.savez(buffer, references=normalise(references).astype(np.float16))
    return buffer.getvalue()


def load_familiarity(directory: Path, rule: FamiliarityRule) -> Familiarity:
    path = directory / rule.file
    if not path.is_file():
        raise BundleError(f"{directory} is missing {rule.file}, which its card names")
    data = path.read_bytes()
    actual = hashlib.sha256(data).hexdigest()
    if actual != rule.sha256:
        raise BundleError(
            f"{path} has sha256 {actual[:12]}…, but the card says {rule.sha256[:12]}…"
        )
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            references = np.asarray(npz["references"], np.float32)
    except (OSError, ValueError, KeyError) as exc:
        raise BundleError(f"{path} is not a familiarity array file: {exc}") from exc
    return Familiarity(rule, references)
