"""What the public check tells a resident, from a model score — and what it must never say.

Three answers, never a certainty: **report** ("may be cannabis / may be a poppy — report it")
when a controlled species reaches a level (alert or review: to the public both are only "may
be"), **unlikely** ("does not look like a drug plant") otherwise, **retake** when no photo is
usable. "May be a poppy" appears only where the score raises opium poppy, which today only a
poppy-family flower does (a review, via the ornamental-poppy stand-in): the model has never
seen opium poppy, so an "unlikely" answer says in words that it cannot rule poppy out, and
shows the poppy marks to compare.
"""

from __future__ import annotations

from typing import Any

from plantscout.model.taxonomy import TAXONOMY, Role

from ...schemas.common import ModelIdentity
from ...schemas.tips import CheckResult, PossibleSpecies, Text
from ...scoring import ScoredPhoto
from .teaching import CHECK_LIMITS, TeachingPhotos, lookalikes_of, text

DISCARDED = Text(
    zh="照片已用于这次识别并删除；只有您选择举报时才会保存。",
    en="The photo was used for this check and discarded; it is kept only if you choose to report.",
)
AUTOMATIC = CHECK_LIMITS.paragraphs[0]
NO_POPPY = CHECK_LIMITS.paragraphs[1]


def _marks(keys: list[str]) -> list[Text]:
    seen: set[str] = set()
    marks: list[Text] = []
    for key in keys:
        label = TAXONOMY.get(key)
        for mark in label.field_marks if label else ():
            if mark.zh not in seen:
                seen.add(mark.zh)
                marks.append(text(mark))
    return marks


def check_result(
    scored: list[ScoredPhoto],
    combined: dict[str, Any],
    identity: dict[str, str],
    photos: TeachingPhotos,
) -> CheckResult:
    usable = [p.score for p in scored if p.score.verdict.value != "unusable"]
    caveats = [AUTOMATIC, DISCARDED]
    if combined["verdict"] == "unusable":
        reasons: list[Text] = []
        for photo in scored:
            message = photo.score.as_dict()["message"]
            if message and all(r.zh != message["zh"] for r in reasons):
                reasons.append(text(message))
        return CheckResult(
            outcome="retake",
            species=[],
            field_marks=[],
            lookalikes=[],
            retake_reasons=reasons,
            caveats=caveats,
            photos=len(scored),
            model=ModelIdentity(**identity),
        )
    raised = [s for s in combined["species"] if s.get("level")]
    species = [
        PossibleSpecies(key=s["key"], name=text(TAXONOMY[s["key"]].name), level=s["level"])
        for s in raised
        if s["key"] in TAXONOMY
    ]
    keys = [s.key for s in species]
    compare = list(keys)
    for score in usable:  # a look-alike on top: show what tells it from its controlled twin
        top = TAXONOMY.get(score.top_label)
        if top and top.role is Role.LOOKALIKE and top.lookalike_of:
            compare += [top.lookalike_of]
    if not species:
        caveats.append(NO_POPPY)
        compare.append("opium_poppy")
    compare = list(dict.fromkeys(compare))
    lookalikes = [look for key in compare for look in lookalikes_of(key, photos)]
    return CheckResult(
        outcome="report" if species else "unlikely",
        species=species,
        field_marks=_marks(compare),
        lookalikes=lookalikes,
        retake_reasons=[],
        caveats=caveats,
        photos=len(scored),
        model=ModelIdentity(**identity),
    )
