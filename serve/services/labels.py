"""From a reviewer's decision to a training label (taxonomy key) for the next model."""

from __future__ import annotations

from typing import Any

from plantscout.model import TAXONOMY
from plantscout.model import Role as LabelRole

from ..vocab import ReviewState

_ALLOWED: dict[ReviewState, set[str]] = {
    ReviewState.CONFIRMED_OPIUM_POPPY: {"opium_poppy"},
    ReviewState.CONFIRMED_CANNABIS: {"cannabis"},
    ReviewState.LOOKALIKE: {k for k, v in TAXONOMY.items() if v.role is LabelRole.LOOKALIKE},
    ReviewState.NOT_TARGET: {
        k for k, v in TAXONOMY.items() if v.role in (LabelRole.OTHER_PLANT, LabelRole.NON_PLANT)
    },
    ReviewState.PENDING: set(),
}


def allowed_labels(state: ReviewState) -> set[str]:
    return set(_ALLOWED[state])


def infer_label(state: ReviewState, combined: dict[str, Any]) -> str | None:
    """The label a review implies, or None when it is ambiguous (then none is exported).

    A look-alike is the look-alike of whichever controlled species the model raised: cannabis
    → ``cannabis_lookalike``, opium poppy → ``ornamental_poppy``. If it raised both or neither,
    the reviewer must name the label.
    """
    if state is ReviewState.CONFIRMED_OPIUM_POPPY:
        return "opium_poppy"
    if state is ReviewState.CONFIRMED_CANNABIS:
        return "cannabis"
    if state is ReviewState.NOT_TARGET:
        return "other_plant"
    if state is ReviewState.LOOKALIKE:
        raised = {s["key"] for s in combined.get("species", []) if s.get("level")}
        candidates = {
            k
            for k, v in TAXONOMY.items()
            if v.role is LabelRole.LOOKALIKE and v.lookalike_of in raised
        }
        return candidates.pop() if len(candidates) == 1 else None
    return None
