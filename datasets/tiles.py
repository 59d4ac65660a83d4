"""Cut drone frames into model-sized tiles at one common ground resolution.

The scanner scores a frame as tiles resampled to the ground sampling distance (GSD, metres per
pixel) the model was trained at, so training tiles must be cut the same way: a hemp plant seen
at 5 mm/px and at 13 cm/px are different pictures, and a model fed both learns altitude, not
plants. Frames are resampled to ``gsd_m`` before cutting. A frame much coarser than the target
would need inventing detail (upsampling), so it is not tiled and the build reports why.

Tiles inherit the frame's label. In a frame of a cannabis plot some tiles show only soil
between plants; a tile of a plant label whose vegetation cover (excess-green index) is below
``min_vegetation`` is dropped rather than mislabelled. Grass strips beside a plot still pass
that test: such tiles stay labelled as the frame — a known source of label noise, reported in
the dataset README.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from plantscout.model import TAXONOMY, Role, read_image

from .records import Record


@dataclass(frozen=True)
class TileSpec:
    gsd_m: float = 0.01  # target ground resolution of every tile (1 cm/px)
    size_px: int = 224  # tile side; equals the model input, so tiles are never rescaled again
    stride_fraction: float = 1.0  # tiles side by side: overlapping copies add weight, not data
    max_upsample: float = 1.5  # frames needing more enlargement than this are not tiled
    min_vegetation: float = 0.5  # plant-labelled tiles need this much green cover
    jpeg_quality: int = 95

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def vegetation_fraction(pixels: np.ndarray) -> float:
    """Share of pixels whose excess-green index 2g−r−b (chromatic coordinates) exceeds 0.05."""
    rgb = pixels.astype(np.float32)
    total = rgb.sum(axis=-1) + 1e-6
    r, g, b = (rgb[..., i] / total for i in range(3))
    return float(((2 * g - r - b) > 0.05).mean())


def _slug(path: Path) -> str:
    digest = hashlib.sha1(str(path).encode("utf-8")).hexdigest()[:8]
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", path.stem)[:60] + "-" + digest


def tile_frame(record: Record, spec: TileSpec, out_dir: Path) -> tuple[list[Record], str | None]:
    """Tiles of one frame as records (files written under ``out_dir``), or a skip reason."""
    if record.gsd_m is None or record.gsd_m <= 0:
        return [], "ground resolution unknown (give gsd_m in the manifest or the sources file)"
    scale = record.gsd_m / spec.gsd_m  # >1 enlarges, <1 shrinks
    if scale > spec.max_upsample:
        return [], (
            f"frame GSD {record.gsd_m:g} m/px is coarser than the tile GSD {spec.gsd_m:g} m/px "
            f"by ×{scale:.1f} (limit ×{spec.max_upsample:g})"
        )
    decoded = read_image(record.path)
    frame = decoded.image
    new_size = (round(frame.width * scale), round(frame.height * scale))
    if min(new_size) < spec.size_px:
        return [], f"frame is smaller than one {spec.size_px}px tile at {spec.gsd_m:g} m/px"
    resized = np.asarray(frame.resize(new_size, Image.Resampling.LANCZOS))
    stride = max(1, int(spec.size_px * spec.stride_fraction))
    plant_label = TAXONOMY[record.label].role is not Role.NON_PLANT
    out_dir.mkdir(parents=True, exist_ok=True)
    tiles: list[Record] = []
    for y in _starts(new_size[1], spec.size_px, stride):
        for x in _starts(new_size[0], spec.size_px, stride):
            pixels = resized[y : y + spec.size_px, x : x + spec.size_px]
            if plant_label and vegetation_fraction(pixels) < spec.min_vegetation:
                continue
            path = out_dir / f"{_slug(record.path)}_x{x}_y{y}.jpg"
            Image.fromarray(pixels).save(path, quality=spec.jpeg_quality)
            crop = ",".join(
                str(round(v / scale)) for v in (x, y, spec.size_px, spec.size_px)
            )  # in the original frame's pixels
            tiles.append(
                record.with_(
                    path=path.resolve(),
                    kind="drone_tile",
                    width=spec.size_px,
                    height=spec.size_px,
                    sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
                    gsd_m=spec.gsd_m,
                    parent=str(record.path),
                    crop=crop,
                )
            )
    if not tiles:
        return [], f"no tile has ≥{spec.min_vegetation:.0%} vegetation cover"
    return tiles, None


def _starts(length: int, size: int, stride: int) -> list[int]:
    """Evenly spaced tile origins from edge to edge, about ``stride`` apart."""
    if length <= size:
        return [0]
    n = max(1, round((length - size) / stride)) + 1
    return [round(i * (length - size) / (n - 1)) for i in range(n)]
