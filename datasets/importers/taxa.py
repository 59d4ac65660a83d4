"""Which plantscout label a source's taxon becomes.

A source names species (``Papaver somniferum L.``); training needs a taxonomy key
(``opium_poppy``). Only a few taxa are known here; anything else needs an explicit
``--label`` so that an import can never invent a class by accident.
"""

from __future__ import annotations

from plantscout.model import TAXONOMY

KNOWN_TAXA: dict[str, str] = {
    "papaver somniferum": "opium_poppy",
    "cannabis sativa": "cannabis",
    "cannabis indica": "cannabis",
    "cannabis ruderalis": "cannabis",
    "papaver rhoeas": "ornamental_poppy",
    "papaver orientale": "ornamental_poppy",
    "papaver nudicaule": "ornamental_poppy",
    "eschscholzia californica": "ornamental_poppy",
    "romneya coulteri": "ornamental_poppy",
}
PLANTNET_SPECIES: dict[str, str] = {"1363130": "Papaver somniferum", "1363128": "Papaver rhoeas"}


def binomial(name: str) -> str:
    """``Papaver somniferum L.`` -> ``papaver somniferum`` (genus + epithet, lower case)."""
    return " ".join(name.replace("×", "").split()[:2]).lower()


def label_for(taxon: str, explicit: str | None = None) -> str:
    """The taxonomy key for a taxon name, or ``explicit`` (checked against the taxonomy)."""
    label = explicit or KNOWN_TAXA.get(binomial(taxon))
    if label is None:
        raise ValueError(
            f"no plantscout label is known for {taxon!r}: pass --label "
            f"(one of {', '.join(sorted(TAXONOMY))})"
        )
    if label not in TAXONOMY:
        raise ValueError(
            f"--label {label!r} is not in the taxonomy ({', '.join(sorted(TAXONOMY))})"
        )
    return label
