"""From logits to a verdict a patrol can act on.

Kept apart from the ONNX session so that the decision rules (temperature, thresholds,
stand-in labels, the `unusable` rule) are plain functions of numbers and a card: easy to test,
and the same for photos, drone tiles and gallery-assisted scores.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np

from .bundle import Card
from .taxonomy import TAXONOMY, Role, Text


class Verdict(StrEnum):
    SUSPECTED = "suspected"  # a controlled species at alert level: go and check / eradicate
    REVIEW = "review"  # possible controlled species: a person must look
    CLEAR = "clear"
    UNUSABLE = "unusable"  # retake the photo; no guess is forced

    @property
    def rank(self) -> int:
        return _VERDICT_RANK[self]


_VERDICT_RANK = {Verdict.UNUSABLE: 0, Verdict.CLEAR: 1, Verdict.REVIEW: 2, Verdict.SUSPECTED: 3}


class Level(StrEnum):
    ALERT = "alert"
    REVIEW = "review"


UNUSABLE_REASONS: dict[str, Text] = {
    "not_a_plant": Text(
        zh="照片中未发现植物，请对准植株重新拍摄",
        en="No plant found in the photo: retake it aimed at the plant",
    ),
    "too_dark": Text(
        zh="照片太暗，请在光线充足处重拍", en="Photo too dark: retake it in better light"
    ),
    "too_small": Text(
        zh="照片分辨率太低，请靠近植株重拍", en="Photo too small: move closer and retake it"
    ),
}

UNFAMILIAR_MESSAGE = Text(
    zh="与模型训练所用的大麻照片不相似：可能是模型没见过的植物，请人工复核，勿直接按疑似处理",
    en="Unlike the cannabis photos this model was trained on: it may be a plant the model has "
    "never seen. A person should check it; it is not reported as suspected",
)

STAND_IN_MESSAGE = Text(
    zh="罂粟科花卉：请现场核实是否为罂粟（本模型未用罂粟照片训练，无法直接判定）",
    en="Poppy-family flower: check whether it is opium poppy (this model was not trained on "
    "opium poppy photos and cannot decide it)",
)


@dataclass(frozen=True)
class SpeciesScore:
    """One controlled species in one image."""

    key: str
    probability: float | None  # None: the model has no output for it (see `trained`)
    level: Level | None
    trained: bool
    via: str | None = None  # the stand-in label that raised it (e.g. ornamental_poppy)
    source: str = "classifier"  # or "gallery" when a reference gallery decided it
    message: Text | None = None
    # Similarity to the label's training photos (bundles with a familiarity gate), and
    # whether an alert was lowered to review because the image looked unfamiliar.
    familiarity: float | None = None
    unfamiliar: bool = False

    def as_dict(self) -> dict[str, Any]:
        label = TAXONOMY.get(self.key)
        return {
            "key": self.key,
            "scientific_name": label.scientific_name if label else None,
            "name": label.name.as_dict() if label else None,
            "probability": None if self.probability is None else round(self.probability, 6),
            "level": self.level.value if self.level else None,
            "trained": self.trained,
            "via": self.via,
            "source": self.source,
            "message": self.message.as_dict() if self.message else None,
            "familiarity": None if self.familiarity is None else round(self.familiarity, 6),
            "unfamiliar": self.unfamiliar,
        }


@dataclass(frozen=True)
class ImageInfo:
    sha256: str
    width: int
    height: int
    format: str

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Score:
    """A calibrated, versioned score of one image (or one drone tile)."""

    probabilities: dict[str, float]
    species: tuple[SpeciesScore, ...]
    verdict: Verdict
    model: dict[str, str]
    image: ImageInfo | None = None
    unusable_reason: str | None = None
    embedding: np.ndarray | None = field(default=None, repr=False, compare=False)
    gallery: dict[str, Any] | None = None

    @property
    def top_label(self) -> str:
        return max(self.probabilities, key=self.probabilities.__getitem__)

    def species_score(self, key: str) -> SpeciesScore | None:
        return next((s for s in self.species if s.key == key), None)

    def as_dict(self) -> dict[str, Any]:
        reason = UNUSABLE_REASONS.get(self.unusable_reason or "")
        return {
            "verdict": self.verdict.value,
            "unusable_reason": self.unusable_reason,
            "message": reason.as_dict() if reason else None,
            "top_label": self.top_label,
            "probabilities": {k: round(v, 6) for k, v in self.probabilities.items()},
            "species": [s.as_dict() for s in self.species],
            "image": self.image.as_dict() if self.image else None,
            "model": dict(self.model),
            "gallery": self.gallery,
        }


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Numerically stable softmax over the last axis, after dividing by the temperature."""
    z = np.asarray(logits, np.float64) / temperature
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def level_for(probability: float, alert: float | None, review: float | None) -> Level | None:
    if alert is not None and probability >= alert:
        return Level.ALERT
    if review is not None and probability >= review:
        return Level.REVIEW
    return None


def species_scores(
    card: Card, probs: dict[str, float], familiarity: float | None = None
) -> tuple[SpeciesScore, ...]:
    """Per controlled species: trained outputs get alert/review; stand-ins only review.

    With a familiarity gate in the card, an alert on the gated label whose image is less
    familiar than ``alert_min`` becomes a review marked ``unfamiliar``.
    """
    result: list[SpeciesScore] = []
    for key, label in TAXONOMY.items():
        if label.role is not Role.CONTROLLED:
            continue
        if key in probs:
            result.append(_trained_species(card, key, probs[key], familiarity))
            continue
        stand_ins = [lab for lab in card.labels if lab.review_for == key]
        level, via = None, None
        for stand_in in stand_ins:
            review = stand_in.thresholds.review
            if review is not None and probs[stand_in.key] >= review:
                level, via = Level.REVIEW, stand_in.key
                break
        result.append(
            SpeciesScore(
                key,
                None,
                level,
                False,
                via=via,
                message=STAND_IN_MESSAGE if level else None,
            )
        )
    return tuple(result)


def _trained_species(
    card: Card, key: str, probability: float, familiarity: float | None
) -> SpeciesScore:
    thresholds = card.label(key).thresholds
    level = level_for(probability, thresholds.alert, thresholds.review)
    gate = card.familiarity
    if gate is None or gate.label != key:
        return SpeciesScore(key, probability, level, True)
    if familiarity is None:
        raise ValueError(f"bundle {card.name} {card.version} gates {key} on familiarity: give it")
    unfamiliar = (
        level is Level.ALERT and gate.alert_min is not None and familiarity < gate.alert_min
    )
    return SpeciesScore(
        key,
        probability,
        Level.REVIEW if unfamiliar else level,
        True,
        message=UNFAMILIAR_MESSAGE if unfamiliar else None,
        familiarity=familiarity,
        unfamiliar=unfamiliar,
    )


def decide(
    card: Card,
    probs: dict[str, float],
    species: Sequence[SpeciesScore],
    *,
    quality_reason: str | None = None,
) -> tuple[Verdict, str | None]:
    """Overall verdict: unusable beats everything (no forced guesses), then alert > review."""
    if quality_reason:
        return Verdict.UNUSABLE, quality_reason
    if any(s.level is Level.ALERT for s in species):
        return Verdict.SUSPECTED, None
    rule = card.decision
    if rule.unusable_label and probs.get(rule.unusable_label, 0.0) >= rule.unusable_min_probability:
        if not any(s.level for s in species):
            return Verdict.UNUSABLE, "not_a_plant"
    if any(s.level is Level.REVIEW for s in species):
        return Verdict.REVIEW, None
    return Verdict.CLEAR, None


def score_from_logits(
    card: Card,
    logits: np.ndarray,
    identity: dict[str, str],
    *,
    image: ImageInfo | None = None,
    quality_reason: str | None = None,
    embedding: np.ndarray | None = None,
    familiarity: float | None = None,
) -> Score:
    """The score of one image from its logits (and, for gated bundles, its familiarity)."""
    p = softmax(logits, card.temperature)
    probs = {key: float(p[i]) for i, key in enumerate(card.label_keys)}
    species = species_scores(card, probs, familiarity)
    verdict, reason = decide(card, probs, species, quality_reason=quality_reason)
    return Score(
        probabilities=probs,
        species=species,
        verdict=verdict,
        model=identity,
        image=image,
        unusable_reason=reason,
        embedding=embedding,
    )


def combine_scores(scores: Sequence[Score]) -> dict[str, Any]:
    """One verdict for several photos of the same plant.

    Usable photos only; per species the strongest photo counts (one clear close-up of a leaf
    is enough to suspect cannabis even if the other photos show the field). All unusable ->
    unusable, so the officer retakes instead of filing a guess.
    """
    usable = [s for s in scores if s.verdict is not Verdict.UNUSABLE]
    if not scores:
        raise ValueError("combine_scores needs at least one score")
    if not usable:
        return {
            "verdict": Verdict.UNUSABLE.value,
            "photos": len(scores),
            "usable": 0,
            "species": [],
        }
    verdict = max((s.verdict for s in usable), key=lambda v: v.rank)
    species: list[dict[str, Any]] = []
    for key in [s.key for s in usable[0].species]:
        entries = [s.species_score(key) for s in usable]
        entries = [e for e in entries if e is not None]
        probabilities = [e.probability for e in entries if e.probability is not None]
        levels = [e.level for e in entries if e.level is not None]
        best = Level.ALERT if Level.ALERT in levels else (Level.REVIEW if levels else None)
        species.append(
            {
                "key": key,
                "probability": max(probabilities) if probabilities else None,
                "level": best.value if best else None,
                "photos_at_level": sum(1 for e in entries if best and e.level is best),
            }
        )
    return {
        "verdict": verdict.value,
        "photos": len(scores),
        "usable": len(usable),
        "species": species,
        "model": dict(usable[0].model),
    }
