"""Composite 20 MP survey frames from real drone pixels — labelled as composites everywhere.

No survey flight with cannabis exists in the data (one hemp flight at ~5 mm/px, two ODM
flights of one site at ~13 cm/px), so frames for speed and recall measurements are *built*:

* **survey-like**: an ODM frame, resampled to the target resolution and cropped to
  5472 × 3648 px, with a few hemp "plots" pasted in (each a small mosaic of consecutive hemp
  frames resampled to the same resolution), covering under 5 % of the ground;
* **full cannabis**: the whole 5472 × 3648 px filled with hemp frames resampled to the
  target resolution (repeated, mirrored where the flight has too few).

The ODM background is *enlarged* 3–13× to reach 1–4 cm/px (it is blurry), the hemp shrunk:
the frames are real pixels at the right scale, not real survey frames. They serve to measure
seconds per frame and whether a cascade finds what a full scan finds on the same frame; the
model's accuracy on them says little about real survey flights.

Which frames go in comes from the same hold-out as the tile model's training
(``plantscout.datasets.drone_tiles.assign_blocks``): ``split="val"`` frames for choosing
cascade thresholds, ``split="test"`` for measuring.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

SIZE = (5472, 3648)  # a 20 MP frame (1" sensor: Phantom 4 Pro, Mavic 2 Pro)
SHARED = Path(__file__).resolve().parents[1].parent / "shared"
MANIFEST = SHARED / "datasets" / "plants-v1" / "manifest.csv"
SOURCES = Path(__file__).resolve().parents[1] / "datasets" / "sources" / "plants-v1.toml"


@dataclass(frozen=True)
class Pool:
    hemp: list[Path]
    hemp_gsd_m: float
    background: list[Path]
    background_gsd_m: float


def frame_pool(split: str) -> Pool:
    """Hemp and background frames of one hold-out split (val or test)."""
    from plantscout.datasets import read_records
    from plantscout.datasets.drone_tiles import assign_blocks
    from plantscout.datasets.sources import apply_sources, load_sources

    frames = [
        r
        for r in apply_sources(read_records(MANIFEST), [load_sources(SOURCES)])
        if r.kind == "drone_frame"
    ]
    blocks, _ = assign_blocks(frames)
    chosen = blocks[split]
    hemp = [r for r in chosen if r.label == "cannabis"]
    ground = [r for r in chosen if r.label == "background"]
    if not hemp or not ground:
        raise RuntimeError(f"split {split!r} lacks hemp or background frames")
    return Pool(
        hemp=[r.path for r in hemp],
        hemp_gsd_m=float(hemp[0].gsd_m or 0.005),
        background=[r.path for r in ground],
        background_gsd_m=float(ground[0].gsd_m or 0.13),
    )


def _resampled(path: Path, scale: float) -> np.ndarray:
    image = Image.open(path).convert("RGB")
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    method = Image.Resampling.LANCZOS if scale < 1 else Image.Resampling.BICUBIC
    return np.asarray(image.resize(size, method))


def _mosaic(parts: list[np.ndarray], cols: int, rows: int) -> np.ndarray:
    h, w = parts[0].shape[:2]
    canvas = np.zeros((rows * h, cols * w, 3), np.uint8)
    for i in range(rows * cols):
        part = parts[i % len(parts)]
        if (i // len(parts)) % 2:  # repeated frames are mirrored, not copied
            part = part[:, ::-1]
        r, c = divmod(i, cols)
        canvas[r * h : (r + 1) * h, c * w : (c + 1) * w] = part[:h, :w]
    return canvas


def full_cannabis(pool: Pool, gsd_m: float, seed: int = 0) -> np.ndarray:
    """5472 × 3648 px of hemp frames at ``gsd_m``."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(pool.hemp))
    parts = [_resampled(pool.hemp[i], pool.hemp_gsd_m / gsd_m) for i in order]
    h, w = parts[0].shape[:2]
    mosaic = _mosaic(parts, -(-SIZE[0] // w), -(-SIZE[1] // h))
    return np.ascontiguousarray(mosaic[: SIZE[1], : SIZE[0]])


def survey_like(
    pool: Pool, gsd_m: float, seed: int = 0, cover: float = 0.035
) -> tuple[np.ndarray, list[tuple[int, int, int, int]], float]:
    """An ODM frame at ``gsd_m`` with hemp plots covering about ``cover`` of the ground.

    Returns the pixels, the plots' boxes and the cover reached.
    """
    rng = np.random.default_rng(seed)
    source = pool.background[seed % len(pool.background)]
    scale = pool.background_gsd_m / gsd_m
    image = Image.open(source).convert("RGB")
    need = (SIZE[0] / scale, SIZE[1] / scale)  # background pixels covering the frame
    if need[0] > image.width or need[1] > image.height:
        factor = max(need[0] / image.width, need[1] / image.height)
        scale *= factor  # the whole background frame, enlarged a little more
        need = (SIZE[0] / scale, SIZE[1] / scale)
    x0 = rng.uniform(0, max(0.0, image.width - need[0]))
    y0 = rng.uniform(0, max(0.0, image.height - need[1]))
    background = image.resize(
        SIZE, Image.Resampling.BICUBIC, box=(x0, y0, x0 + need[0], y0 + need[1])
    )
    pixels = np.array(background)
    # A plot is about 8 × 4.5 m at 1 cm/px and a 2 × 2 / 3 × 3 mosaic (16–24 m) coarser:
    # plots as a patrol would meet them, a few per frame.
    side = 1 if gsd_m < 0.015 else 2 if gsd_m < 0.03 else 3
    taken: list[tuple[int, int, int, int]] = []
    covered = 0
    order = list(rng.permutation(len(pool.hemp)))
    attempts = 0
    while covered / (SIZE[0] * SIZE[1]) < cover and attempts < 200:
        attempts += 1
        picks = [order[(len(taken) * side * side + k) % len(order)] for k in range(side * side)]
        parts = [_resampled(pool.hemp[i], pool.hemp_gsd_m / gsd_m) for i in picks]
        plot = _mosaic(parts, side, side)
        ph, pw = plot.shape[:2]
        if pw >= SIZE[0] or ph >= SIZE[1]:
            break
        x, y = int(rng.integers(0, SIZE[0] - pw)), int(rng.integers(0, SIZE[1] - ph))
        box = (x, y, x + pw, y + ph)
        if any(_overlaps(box, other, margin=200) for other in taken):
            continue
        pixels[y : y + ph, x : x + pw] = plot
        taken.append(box)
        covered += pw * ph
    return pixels, taken, covered / (SIZE[0] * SIZE[1])


def _overlaps(a: tuple[int, int, int, int], b: tuple[int, int, int, int], margin: int) -> bool:
    return not (
        a[2] + margin <= b[0]
        or b[2] + margin <= a[0]
        or a[3] + margin <= b[1]
        or b[3] + margin <= a[1]
    )


def save_jpeg(pixels: np.ndarray, path: Path) -> Path:
    Image.fromarray(pixels).save(path, "JPEG", quality=90)
    return path
