"""Label policy: which outputs may alert, and which only stand in for an untrained species.

v1 has no *Papaver somniferum* photos. Its nearest trained label, ``ornamental_poppy`` (whose
taxonomy entry is a look-alike *of* opium poppy), therefore stands in for it: a poppy-family
flower raises opium poppy to ``review`` — "check whether it is opium poppy" — and never to
``alert``. As soon as a dataset contains ``opium_poppy`` itself, the stand-in disappears and
ornamental poppy becomes an ordinary look-alike. Pure Python: used by export and evaluation.
"""

from __future__ import annotations

from collections.abc import Sequence

from plantscout.model import TAXONOMY, Role


def stand_in_target(label: str, labels: Sequence[str]) -> str | None:
    """The untrained controlled species ``label`` stands in for, if any."""
    entry = TAXONOMY.get(label)
    if entry is None or entry.lookalike_of is None:
        return None
    target = TAXONOMY.get(entry.lookalike_of)
    if target is None or target.role is not Role.CONTROLLED or target.key in labels:
        return None
    return target.key


def is_controlled(label: str) -> bool:
    entry = TAXONOMY.get(label)
    return entry is not None and entry.role is Role.CONTROLLED


def monitored_labels(labels: Sequence[str]) -> list[str]:
    """Labels whose recall matters most: controlled ones and stand-ins (early stopping)."""
    return [
        label
        for label in labels
        if is_controlled(label) or stand_in_target(label, labels) is not None
    ]
