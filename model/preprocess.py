"""The one implementation of model-input preprocessing.

Serving, training evaluation, the drone scanner and the export parity check all call
:func:`preprocess`, with the parameters taken from the bundle card, so train/serve skew cannot
creep in through a second, slightly different resize.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

import numpy as np
from PIL import Image

_INTERPOLATION = {
    "bicubic": Image.Resampling.BICUBIC,
    "bilinear": Image.Resampling.BILINEAR,
    "nearest": Image.Resampling.NEAREST,
    "lanczos": Image.Resampling.LANCZOS,
}
RESIZE_RULES = ("shorter_side_center_crop", "squash")


@dataclass(frozen=True)
class Preprocessing:
    """How an RGB image becomes a float tensor. Stored verbatim in the bundle card.

    ``shorter_side_center_crop``: resize so the shorter side is ``input_size / crop_fraction``,
    then take the central ``input_size`` square (timm's eval transform).
    ``squash``: resize the whole image to ``input_size`` square (for tiles that are already
    square and must not lose their borders).
    """

    input_size: int = 224
    resize: str = "shorter_side_center_crop"
    crop_fraction: float = 0.875
    interpolation: str = "bicubic"
    mean: tuple[float, float, float] = (0.5, 0.5, 0.5)
    std: tuple[float, float, float] = (0.5, 0.5, 0.5)
    layout: str = "NCHW"

    def __post_init__(self) -> None:
        if self.resize not in RESIZE_RULES:
            raise ValueError(f"resize must be one of {RESIZE_RULES}, not {self.resize!r}")
        if self.interpolation not in _INTERPOLATION:
            raise ValueError(f"interpolation must be one of {sorted(_INTERPOLATION)}")
        if self.layout != "NCHW":
            raise ValueError("only NCHW layout is supported")
        if not 0.1 <= self.crop_fraction <= 1.0:
            raise ValueError("crop_fraction must be in [0.1, 1]")
        if self.input_size < 16:
            raise ValueError("input_size must be at least 16")
        if len(self.mean) != 3 or len(self.std) != 3 or min(self.std) <= 0:
            raise ValueError("mean and std need three values, std positive")

    @property
    def resize_side(self) -> int:
        """The shorter side an image is resized to before cropping."""
        if self.resize == "squash":
            return self.input_size
        return int(math.floor(self.input_size / self.crop_fraction))

    def as_dict(self) -> dict:
        data = asdict(self)
        data["mean"] = list(self.mean)
        data["std"] = list(self.std)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> Preprocessing:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        for key in ("mean", "std"):
            if key in known:
                known[key] = tuple(float(v) for v in known[key])
        return cls(**known)


def resize_and_crop(image: Image.Image, spec: Preprocessing) -> Image.Image:
    """Geometric part of preprocessing: returns an ``input_size`` square RGB image.

    Memory is bounded by the source image, whatever its shape. The timm eval transform
    (resize the shorter side, then crop the centre) would, for a 200 000 × 32 strip, build a
    1.6 G-pixel intermediate to keep 224 × 224 of it. When the resized image would be larger
    than the source (and than a few model inputs), the crop is taken *inside* the resize
    instead: Pillow's ``box`` maps every output pixel to the same source position, done as a
    horizontal then a vertical pass, the order of Pillow's own two-pass resize, so the result
    equals resize-then-crop to within one grey level of rounding.
    """
    if image.mode != "RGB":
        image = image.convert("RGB")
    resample = _INTERPOLATION[spec.interpolation]
    size = spec.input_size
    if spec.resize == "squash":
        return image.resize((size, size), resample)
    w, h = image.size
    scale = spec.resize_side / min(w, h)
    new_w, new_h = max(size, round(w * scale)), max(size, round(h * scale))
    left = (new_w - size) // 2
    top = (new_h - size) // 2
    if new_w * new_h <= max(w * h, 4 * spec.resize_side**2):
        # reducing_gap lets Pillow shrink big images in two steps: same result within
        # rounding, much faster for photos that arrive at full resolution (PNG, HEIC).
        image = image.resize((new_w, new_h), resample, reducing_gap=3.0)
        return image.crop((left, top, left + size, top + size))
    sx, sy = new_w / w, new_h / h
    columns = image.resize((size, h), resample, box=(left / sx, 0, (left + size) / sx, h))
    return columns.resize((size, size), resample, box=(0, top / sy, size, (top + size) / sy))


def normalize(pixels: np.ndarray, spec: Preprocessing) -> np.ndarray:
    """uint8 HWC (or NHWC) RGB -> float32 CHW (or NCHW), scaled to [0,1] then mean/std."""
    array = pixels.astype(np.float32) / 255.0
    array = (array - np.asarray(spec.mean, np.float32)) / np.asarray(spec.std, np.float32)
    if array.ndim == 3:
        return np.ascontiguousarray(array.transpose(2, 0, 1))
    return np.ascontiguousarray(array.transpose(0, 3, 1, 2))


def preprocess(image: Image.Image, spec: Preprocessing) -> np.ndarray:
    """One image -> float32 array of shape (3, input_size, input_size)."""
    return normalize(np.asarray(resize_and_crop(image, spec)), spec)


def preprocess_batch(images: Iterable[Image.Image], spec: Preprocessing) -> np.ndarray:
    """Several images -> float32 array (N, 3, input_size, input_size)."""
    arrays = [np.asarray(resize_and_crop(image, spec)) for image in images]
    if not arrays:
        return np.zeros((0, 3, spec.input_size, spec.input_size), np.float32)
    return normalize(np.stack(arrays), spec)


def stack_tiles(tiles: Sequence[np.ndarray], spec: Preprocessing) -> np.ndarray:
    """uint8 HWC tiles already at ``input_size`` -> normalized NCHW batch (drone scanning)."""
    return normalize(np.stack(tiles), spec)


def mean_luma(tensor: np.ndarray, spec: Preprocessing) -> float:
    """Mean luma in [0, 1] of a normalised CHW input: what the model "sees" (too_dark rule)."""
    rgb = (
        tensor * np.asarray(spec.std, np.float32)[:, None, None]
        + np.asarray(spec.mean, np.float32)[:, None, None]
    )
    return float((0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]).mean())
