"""Repositories reserved for independent evaluation: never fetched, never trained on.

Issue 11 keeps these sources out of every new dataset so that a model can be scored on
photos, cameras and species it has never seen. plants-v1 already holds the part of them that
may be used (re-encoded copies in ``../shared``); a sources file that asks the builder to
*fetch* any of them is refused, whatever else it lists. Comparison ignores case, because
GitHub does.
"""

from __future__ import annotations

from collections.abc import Iterable

RESERVED_REPOS: tuple[str, ...] = (
    "Maythaporn/CNN-Model-for-Thai-Cannabis-Plant-Classification",
    "joaramirezra/Clasificador-Hojas-Canabis",
    "cosmicSleuth/Hemp_Classifier",
    "Vik99-wq/Hemp-Remote-Sensing",
    "udacity/aipnd-project",
    "sergeyvilov/plant_seedings",
    "martinwestin/flower_classification",
    "Schine73/Plant-and-Weed-detection-using-UNet-CNN",
    "WoodratTradeCo/crop-rows-detection",
    "EasonChen99/Leaf-classifier",
    "JorisMB82/japanese-maple-atlas",
    "JSTOR-Labs/plant-humanities",
    "pan8915/DeepTexture",
    "OpenDroneMap/ODM",
)
# Datasets whose copies are reserved wherever they live (checked by reading a candidate's
# folder names, counts and README before it is listed; see datasets/sources/README.md).
RESERVED_DATASETS: tuple[str, ...] = (
    "Oxford 102 Category Flowers (VGG)",
    "Kaggle / Aarhus Plant Seedlings",
    "Describable Textures Dataset (DTD)",
)

_RESERVED = frozenset(repo.lower() for repo in RESERVED_REPOS)


def is_reserved(repo: str) -> bool:
    return repo.strip().strip("/").lower() in _RESERVED


def reserved_among(repos: Iterable[str]) -> list[str]:
    """The reserved repositories named in ``repos`` (sorted, as written)."""
    return sorted({repo for repo in repos if is_reserved(repo)})
