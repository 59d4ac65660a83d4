"""Training-time augmentation (albumentations); evaluation never augments.

Photos and drone tiles need different invariances. A photo may be cropped, zoomed and tilted
a little, but it has an "up" (plants grow upwards). A nadir drone tile has no up — any of the
eight flips/rotations is the same field — and its scale is fixed by the ground resolution, so
it may only zoom by the GSD error, never by the photo pipeline's ×3.

Both pipelines end in uint8 HWC pixels at the model's input size; normalisation is done by
``plantscout.model.preprocess.normalize``, the same function serving uses.
"""

from __future__ import annotations

import cv2
import numpy as np

from .config import AugmentConfig


def photo_pipeline(size: int, cfg: AugmentConfig):
    import albumentations as A

    return A.Compose(
        [
            A.RandomResizedCrop(
                size=(size, size),
                scale=(cfg.photo_scale_min, 1.0),
                ratio=(3 / 4, 4 / 3),
                interpolation=cv2.INTER_CUBIC,
            ),
            A.HorizontalFlip(p=0.5),
            A.Affine(rotate=(-cfg.rotate, cfg.rotate), p=0.3, border_mode=cv2.BORDER_REFLECT_101),
            A.ColorJitter(
                brightness=cfg.colour,
                contrast=cfg.colour,
                saturation=cfg.colour,
                hue=cfg.hue,
                p=0.8,
            ),
            A.OneOf(
                [
                    A.GaussianBlur(sigma_limit=(0.3, 1.5)),
                    A.Downscale(scale_range=(0.4, 0.8)),
                    A.GaussNoise(std_range=(0.02, 0.06)),
                ],
                p=0.25,
            ),
            A.ImageCompression(quality_range=(cfg.jpeg_quality_min, 95), p=0.3),
            A.ToGray(p=0.02),
        ]
    )


def tile_pipeline(size: int, cfg: AugmentConfig):
    import albumentations as A

    return A.Compose(
        [
            A.RandomRotate90(p=1.0),
            A.HorizontalFlip(p=0.5),
            A.Affine(
                scale=(1 - cfg.tile_scale, 1 + cfg.tile_scale),
                p=0.5,
                border_mode=cv2.BORDER_REFLECT_101,
            ),
            A.Resize(size, size, interpolation=cv2.INTER_AREA),
            A.ColorJitter(
                brightness=cfg.colour, contrast=cfg.colour, saturation=cfg.colour, hue=cfg.hue
            ),
            A.OneOf(
                [A.GaussianBlur(sigma_limit=(0.3, 1.2)), A.Downscale(scale_range=(0.5, 0.9))],
                p=0.2,
            ),
            A.ImageCompression(quality_range=(cfg.jpeg_quality_min, 95), p=0.3),
        ]
    )


class Augmenter:
    """Picks the pipeline by sample kind; seeded so cached views are reproducible."""

    def __init__(self, size: int, cfg: AugmentConfig, seed: int) -> None:
        self.photo = photo_pipeline(size, cfg)
        self.tile = tile_pipeline(size, cfg)
        self.photo.set_random_seed(seed)
        self.tile.set_random_seed(seed + 1)

    def reseed(self, seed: int) -> None:
        """Restart both pipelines from ``seed`` (per image: views independent of batch order)."""
        self.photo.set_random_seed(seed)
        self.tile.set_random_seed(seed + 1)

    def __call__(self, pixels: np.ndarray, is_tile: bool) -> np.ndarray:
        pipeline = self.tile if is_tile else self.photo
        return pipeline(image=pixels)["image"]
