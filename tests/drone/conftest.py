"""Fixtures of the drone tests: synthetic DJI frames (see plantscout.drone.synthetic)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from plantscout.drone.synthetic import drone_jpeg


@pytest.fixture(scope="session")
def make_drone_jpeg() -> Callable[..., bytes]:
    return drone_jpeg


@pytest.fixture
def write_frame(tmp_path: Path) -> Callable[..., Path]:
    def write(name: str, **kwargs: object) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(drone_jpeg(**kwargs))  # type: ignore[arg-type]
        return path

    return write
