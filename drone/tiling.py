"""Where the tiles go: overlapping squares at the ground resolution the model expects.

A tile is cut so that it covers ``input_size × model_gsd`` metres of ground, then resized to
the model's input. When the frame's own ground resolution is unknown (no altitude, no
camera), tiles fall back to a fixed pixel size, and the plan says so. Tiles overlap so that
a plant on a tile border is seen whole by a neighbour; the last row and column are aligned
to the frame edge instead of running off it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

JPEG_SCALES = (8, 4, 2, 1)  # DCT scaling the JPEG decoder can do for free
MIN_TILE_PX = 32  # below this a tile holds too few real pixels to be worth scoring
DEFAULT_MAX_TILES = 2500  # per frame; beyond it tiles grow (and the plan says so)


@dataclass(frozen=True)
class TileBox:
    """One tile in original-frame pixels (x0, y0 inclusive; x1, y1 exclusive)."""

    row: int
    col: int
    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def centre(self) -> tuple[float, float]:
        return (self.x0 + self.x1) / 2.0, (self.y0 + self.y1) / 2.0


@dataclass(frozen=True)
class TilePlan:
    width: int  # frame size, original pixels
    height: int
    tile_px: int  # tile side, original pixels
    stride_px: int
    xs: tuple[int, ...]
    ys: tuple[int, ...]
    input_size: int
    basis: str  # "gsd" (tiles sized from ground resolution) or "pixels" (fallback)
    frame_gsd_m: float | None = None
    model_gsd_m: float | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def rows(self) -> int:
        return len(self.ys)

    @property
    def cols(self) -> int:
        return len(self.xs)

    @property
    def count(self) -> int:
        return self.rows * self.cols

    @property
    def tile_ground_m(self) -> float | None:
        return None if self.frame_gsd_m is None else self.tile_px * self.frame_gsd_m

    def boxes(self) -> list[TileBox]:
        """Row-major: all tiles of the top band first (the order rows are decoded in)."""
        return [
            TileBox(r, c, x, y, x + self.tile_px, y + self.tile_px)
            for r, y in enumerate(self.ys)
            for c, x in enumerate(self.xs)
        ]

    def decode_scale(self, allowed: tuple[int, ...] = JPEG_SCALES) -> int:
        """Largest decoder reduction that still leaves each tile ≥ the model's input size."""
        for scale in allowed:
            if (
                self.tile_px / scale >= self.input_size
                and self.width // scale >= self.tile_px // scale
            ):
                return scale
        return 1

    def as_dict(self) -> dict[str, object]:
        return {
            "width": self.width,
            "height": self.height,
            "tile_px": self.tile_px,
            "stride_px": self.stride_px,
            "rows": self.rows,
            "cols": self.cols,
            "input_size": self.input_size,
            "basis": self.basis,
            "frame_gsd_m": self.frame_gsd_m,
            "model_gsd_m": self.model_gsd_m,
            "tile_ground_m": self.tile_ground_m,
            "notes": list(self.notes),
        }


def positions(length: int, tile: int, stride: int) -> tuple[int, ...]:
    """Tile starts covering [0, length): regular steps, the last one flush with the end."""
    if length <= tile:
        return (0,)
    starts = list(range(0, length - tile + 1, stride))
    if starts[-1] + tile < length:
        starts.append(length - tile)
    return tuple(starts)


def plan_tiles(
    width: int,
    height: int,
    input_size: int,
    *,
    frame_gsd_m: float | None = None,
    model_gsd_m: float | None = None,
    fallback_tile_px: int | None = None,
    overlap: float = 0.25,
    max_tiles: int = DEFAULT_MAX_TILES,
) -> TilePlan:
    """Plan the tiles of a ``width × height`` frame.

    With both ground resolutions known, a tile spans ``input_size × model_gsd_m`` metres.
    Otherwise the tile is ``fallback_tile_px`` (default: twice the input size) pixels.
    """
    if width < 1 or height < 1:
        raise ValueError(f"frame size must be positive, not {width}×{height}")
    if not 0.0 <= overlap < 0.9:
        raise ValueError(f"overlap must be in [0, 0.9), not {overlap}")
    notes: list[str] = []
    if frame_gsd_m and model_gsd_m and frame_gsd_m > 0 and model_gsd_m > 0:
        basis = "gsd"
        tile = input_size * model_gsd_m / frame_gsd_m
        if frame_gsd_m > 1.5 * model_gsd_m:  # tiles upsampled: detail the model expects is missing
            notes.append(
                f"frame resolution {frame_gsd_m * 100:.1f} cm/px is coarser than the model's "
                f"{model_gsd_m * 100:.1f} cm/px: small plants may be invisible at this height"
            )
    else:
        basis = "pixels"
        tile = fallback_tile_px or 2 * input_size
        if model_gsd_m and not frame_gsd_m:
            notes.append("frame ground resolution unknown: tiles use a fixed pixel size")
    tile_px = max(MIN_TILE_PX, int(round(tile)))
    short = min(width, height)
    if tile_px > short:
        notes.append(f"tile of {tile_px} px does not fit the frame: reduced to {short} px")
        tile_px = short
    stride = max(1, int(round(tile_px * (1.0 - overlap))))
    xs, ys = positions(width, tile_px, stride), positions(height, tile_px, stride)
    enlarged = False
    while len(xs) * len(ys) > max_tiles and tile_px < short:
        # Too many tiles (a very fine frame or a huge mosaic): enlarge instead of running for
        # hours, and say so, since the model then sees plants smaller than it was trained on.
        tile_px = min(short, int(math.ceil(tile_px * 1.25)))
        stride = max(1, int(round(tile_px * (1.0 - overlap))))
        xs, ys = positions(width, tile_px, stride), positions(height, tile_px, stride)
        enlarged = True
    if enlarged:
        notes.append(f"tiles enlarged to {tile_px} px to stay within {max_tiles} tiles")
    return TilePlan(
        width=width,
        height=height,
        tile_px=tile_px,
        stride_px=stride,
        xs=xs,
        ys=ys,
        input_size=input_size,
        basis=basis,
        frame_gsd_m=frame_gsd_m,
        model_gsd_m=model_gsd_m,
        notes=tuple(notes),
    )
