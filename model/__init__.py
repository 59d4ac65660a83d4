"""plantscout.model — the inference core.

Runs with numpy, Pillow and onnxruntime only: never imports torch, so the service and the
drone scanner install without it. Public entry points:

- :func:`read_image` — safe decoding of untrusted bytes (typed errors, bomb checks).
- :func:`load_bundle` / :class:`Bundle` — a validated ``model.onnx`` + ``card.json``.
- :class:`Scorer` — batches images through ONNX Runtime and returns :class:`Score` objects.
"""

from .bundle import Bundle, Card, CardLabel, Decision, Thresholds, load_bundle
from .errors import (
    BundleError,
    ImageError,
    ImageTooLarge,
    ImageTooSmall,
    NoDefaultModel,
    PlantscoutError,
    TruncatedImage,
    UnsupportedFormat,
)
from .intake import DecodedImage, IntakeLimits, read_image
from .preprocess import Preprocessing, preprocess, preprocess_batch
from .score import Level, Score, SpeciesScore, Verdict, combine_scores
from .scorer import Scorer
from .taxonomy import TAXONOMY, Label, Role

__all__ = [
    "TAXONOMY",
    "Bundle",
    "BundleError",
    "Card",
    "CardLabel",
    "DecodedImage",
    "Decision",
    "ImageError",
    "ImageTooLarge",
    "ImageTooSmall",
    "IntakeLimits",
    "Label",
    "Level",
    "NoDefaultModel",
    "PlantscoutError",
    "Preprocessing",
    "Role",
    "Score",
    "Scorer",
    "SpeciesScore",
    "Thresholds",
    "TruncatedImage",
    "UnsupportedFormat",
    "Verdict",
    "combine_scores",
    "load_bundle",
    "preprocess",
    "preprocess_batch",
    "read_image",
]
