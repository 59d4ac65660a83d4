"""Preprocessing memory is bounded by what the intake limits allow, whatever the image's shape.

The hardening issue found that a PNG of a few tens of KB with an extreme aspect ratio
(200 000 × 32) made the shorter-side resize build a 1.6 G-pixel intermediate (+1.5 GB RSS per
request). These tests pin the transform (the crop taken inside the resize must equal the timm
resize-then-crop) and measure the peak memory of the real intake → preprocess → score path in
a fresh process, where ``ru_maxrss`` sees every allocation Pillow and onnxruntime make.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from plantscout.model.preprocess import Preprocessing, resize_and_crop


def _resize_then_crop(image: Image.Image, spec: Preprocessing) -> Image.Image:
    """The reference transform, written out plainly (only for shapes where it is cheap)."""
    w, h = image.size
    scale = spec.resize_side / min(w, h)
    size = spec.input_size
    new_w, new_h = max(size, round(w * scale)), max(size, round(h * scale))
    full = image.resize((new_w, new_h), Image.Resampling.BICUBIC, reducing_gap=3.0)
    left, top = (new_w - size) // 2, (new_h - size) // 2
    return full.crop((left, top, left + size, top + size))


@pytest.mark.parametrize(
    "shape", [(4000, 32), (32, 4000), (3001, 41), (600, 33), (224, 299), (512, 384), (33, 33)]
)
def test_the_crop_inside_the_resize_equals_resize_then_crop(shape: tuple[int, int]) -> None:
    rng = np.random.default_rng(sum(shape))
    w, h = shape
    image = Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
    spec = Preprocessing()
    ours = np.asarray(resize_and_crop(image, spec), dtype=np.int16)
    reference = np.asarray(_resize_then_crop(image, spec), dtype=np.int16)
    assert ours.shape == (224, 224, 3)
    assert np.abs(ours - reference).max() <= 1


def _strip_png(width: int, height: int) -> bytes:
    """A small file with a huge, thin image: a palette PNG of stripes compresses to KBs."""
    image = Image.new("P", (width, height))
    image.putpalette([20, 160, 30, 90, 60, 20] + [0] * 762)
    row = (np.arange(width) // 50 % 2).astype(np.uint8)
    image.putdata(np.tile(row, height).tolist())
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


MEASURE = textwrap.dedent(
    """
    import json, resource, sys
    from pathlib import Path
    from plantscout.model.intake import IntakeLimits
    from plantscout.model.scorer import Scorer

    bundle_dir, png, max_pixels = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    scorer = Scorer(bundle_dir, intra_op_threads=1, limits=IntakeLimits(max_pixels=max_pixels))
    scorer.score_image(scorer.read(sys.argv[4]))  # imports, sessions and arenas settle first
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    score = scorer.score_image(scorer.read(png))
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"peak_growth_kib": after - before, "verdict": score.verdict}))
    """
)


@pytest.mark.slow
def test_an_extreme_aspect_png_at_the_pixel_limit_scores_within_a_bounded_memory(
    tmp_path: Path, tiny_bundle: Path
) -> None:
    max_pixels = 20_000_000
    width, height = max_pixels // 32, 32  # 625 000 × 32: exactly at the limit
    png = tmp_path / "strip.png"
    png.write_bytes(_strip_png(width, height))
    assert png.stat().st_size < 200_000  # a small upload
    warm = tmp_path / "warm.png"
    Image.new("RGB", (640, 480), (20, 160, 30)).save(warm)
    result = subprocess.run(
        [sys.executable, "-c", MEASURE, str(tiny_bundle), str(png), str(max_pixels), str(warm)],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    measured = json.loads(result.stdout.strip().splitlines()[-1])
    # What the limit allows: the decoded pixels (RGB, 3 bytes each) a few times over for
    # conversions. Upscaling before cropping would need 8 × 8 × that (≈ 3.8 GB here).
    budget_kib = 4 * 3 * max_pixels // 1024
    assert measured["peak_growth_kib"] < budget_kib, measured
    assert measured["verdict"] in {"suspected", "review", "clear", "unusable"}
