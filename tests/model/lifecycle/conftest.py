"""Two different tiny bundles (different networks, so different sha256) and a registry."""

from __future__ import annotations

from pathlib import Path

import pytest

from plantscout.model.lifecycle.registry import Registry
from plantscout.model.testing import build_tiny_bundle


@pytest.fixture(scope="session")
def bundle_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("lifecycle-bundles")
    first = build_tiny_bundle(root / "a", name="plantscout-test", version="1.0.0")
    second = build_tiny_bundle(root / "b", name="plantscout-test", version="1.1.0", input_size=48)
    return first, second


@pytest.fixture()
def registry(tmp_path: Path, bundle_pair) -> Registry:
    registry = Registry(tmp_path / "registry")
    for bundle in bundle_pair:
        registry.add(bundle)
    return registry
