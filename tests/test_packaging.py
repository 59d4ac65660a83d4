"""Packaging: every subpackage ships, and the service extra never pulls torch."""

from __future__ import annotations

import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))


def test_every_package_folder_is_listed() -> None:
    setuptools = PYPROJECT["tool"]["setuptools"]
    mapping = setuptools["package-dir"]
    listed = set(setuptools["packages"])
    missing = []
    for package, folder in mapping.items():
        for init in (REPO / folder).rglob("__init__.py"):
            relative = init.parent.relative_to(REPO / folder)
            name = ".".join((package, *relative.parts)) if relative.parts else package
            if name not in listed:
                missing.append(name)
    assert not missing, f"add to [tool.setuptools] packages: {missing}"


def test_core_and_serve_dependencies_do_not_pull_torch() -> None:
    project = PYPROJECT["project"]
    deps = project["dependencies"] + project["optional-dependencies"]["serve"]
    assert not [
        d
        for d in deps
        if d.split("[")[0].split("=")[0].split(">")[0].strip() in {"torch", "torchvision", "timm"}
    ]


def test_torch_is_pinned_wherever_it_is_required() -> None:
    for extra, deps in PYPROJECT["project"]["optional-dependencies"].items():
        for dep in deps:
            if dep.startswith(("torch", "torchvision")) and dep.split("=")[0].strip() in {
                "torch",
                "torchvision",
            }:
                assert "==" in dep, f"{extra}: {dep} must be pinned"
