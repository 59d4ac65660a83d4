"""Synthetic-colour photos for the gallery mechanics tests (the tiny bundle sees mean colour)."""

from __future__ import annotations

import io

import pytest
from PIL import Image


def jpeg(colour: tuple[int, int, int], size: tuple[int, int] = (160, 120)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "JPEG", quality=95)
    return buffer.getvalue()


@pytest.fixture()
def photo_dir(tmp_path):
    """Write synthetic photos as files: ``photo_dir("group", [(r, g, b), ...])`` -> paths."""

    def write(group: str, colours: list[tuple[int, int, int]]):
        folder = tmp_path / "photos" / group
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        for index, colour in enumerate(colours):
            path = folder / f"{index}.jpg"
            path.write_bytes(jpeg(colour))
            paths.append(path)
        return paths

    return write
