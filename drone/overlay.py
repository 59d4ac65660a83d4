"""A picture a patrol leader can read: the frame, its heatmap, and boxed suspected regions.

Drawn on the small preview the reader built while decoding, so writing overlays never
decodes a frame a second time.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from plantscout.drone.scan import FrameResult

LEVEL_COLOURS = {"alert": (255, 40, 40), "review": (255, 190, 0)}
HEAT_ALPHA = 0.45
LABELLED = 8


def render_overlay(result: FrameResult) -> Image.Image | None:
    """The overlay image, or None when there is no preview (e.g. a frame that failed)."""
    if result.preview is None or not result.plan or not result.width:
        return None
    base = Image.fromarray(result.preview).convert("RGB")
    pw, ph = base.size
    sx, sy = pw / result.width, ph / result.height
    plan = result.plan
    heat = np.zeros((ph, pw), np.float32)
    count = np.zeros((ph, pw), np.float32)
    xs, ys, tile = _positions(plan)
    for heatmap in result.heatmaps:
        for r, y in enumerate(ys):
            for c, x in enumerate(xs):
                value = heatmap.values[r, c]
                if np.isnan(value):
                    continue
                x0, y0 = int(x * sx), int(y * sy)
                x1, y1 = int((x + tile) * sx), int((y + tile) * sy)
                region = heat[y0:y1, x0:x1]
                np.maximum(region, value, out=region)
                count[y0:y1, x0:x1] = 1.0
    # Red channel grows with the score; unscored areas stay untouched.
    rgb = np.asarray(base, np.float32)
    tint = np.stack([np.full_like(heat, 255.0), 255.0 * (1 - heat), np.zeros_like(heat)], -1)
    alpha = (HEAT_ALPHA * heat * count)[..., None]
    blended = rgb * (1 - alpha) + tint * alpha
    image = Image.fromarray(np.clip(blended, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for number, region in enumerate(result.regions, start=1):
        x0, y0, x1, y1 = region.box
        colour = LEVEL_COLOURS.get(region.level, (255, 255, 255))
        box = (x0 * sx, y0 * sy, max(x0 * sx, x1 * sx - 1), max(y0 * sy, y1 * sy - 1))
        draw.rectangle(box, outline=colour, width=3)
        # Full labels for the strongest regions; numbers only beyond, to stay readable.
        text = (
            f"{number} {region.species} {region.level} {region.peak:.2f}"
            if number <= LABELLED
            else str(number)
        )
        tx, ty = box[0] + 4, max(0, box[1] - 14) if box[1] >= 14 else box[1] + 4
        draw.rectangle(draw.textbbox((tx, ty), text), fill=(0, 0, 0))
        draw.text((tx, ty), text, fill=colour)
    return image


def write_overlay(result: FrameResult, path: Path) -> Path | None:
    image = render_overlay(result)
    if image is None:
        return None
    tmp = path.with_suffix(".tmp.png")
    image.save(tmp, "PNG", optimize=False)
    tmp.replace(path)
    return path


def _positions(plan: dict) -> tuple[list[int], list[int], int]:
    """Rebuild tile starts from a stored plan (plans store sizes, not every start)."""
    from plantscout.drone.tiling import positions

    tile, stride = int(plan["tile_px"]), int(plan["stride_px"])
    return (
        list(positions(int(plan["width"]), tile, stride)),
        list(positions(int(plan["height"]), tile, stride)),
        tile,
    )
