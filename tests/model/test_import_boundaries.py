"""The inference core runs without torch, and the parts import only in the allowed direction."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# A meta-path hook that makes `import torch` (and friends) fail, as on a machine without them.
BLOCK = """
import sys
class _Block:
    blocked = {blocked!r}
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in self.blocked:
            raise ImportError(f"{{name}} is blocked for this test")
        return None
sys.meta_path.insert(0, _Block())
"""


def run_blocked(code: str, blocked: tuple[str, ...]) -> subprocess.CompletedProcess[str]:
    script = BLOCK.format(blocked=set(blocked)) + code
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=REPO
    )


def test_model_scores_with_torch_blocked(tiny_bundle: Path, real_photo) -> None:
    code = f"""
import plantscout.model as m
from plantscout.model import scorer, intake, bundle, score, preprocess, taxonomy, cli
s = m.Scorer({str(tiny_bundle)!r}, intra_op_threads=1)
print(s.score_image(s.read({str(real_photo("cannabis"))!r})).verdict.value)
assert "torch" not in sys.modules
"""
    result = run_blocked(code, ("torch", "torchvision", "timm", "albumentations"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() in {"suspected", "review", "clear", "unusable"}


def test_drone_scanner_imports_with_torch_blocked() -> None:
    """The drone part installs without torch too: every module imports with it blocked."""
    code = """
import importlib, pkgutil
import plantscout.drone as drone
for module in pkgutil.iter_modules(drone.__path__):
    importlib.import_module("plantscout.drone." + module.name)
assert "torch" not in sys.modules
"""
    result = run_blocked(code, ("torch", "torchvision", "timm", "albumentations"))
    assert result.returncode == 0, result.stderr


def test_the_block_itself_works() -> None:
    result = run_blocked("import torch", ("torch",))
    assert result.returncode != 0 and "blocked" in result.stderr


def test_cli_help_lists_commands_without_heavy_imports() -> None:
    code = """
from click.testing import CliRunner
from plantscout.cli import cli
result = CliRunner().invoke(cli, ["--help"])
assert result.exit_code == 0, result.output
for name in ("score", "scan", "train", "serve", "datasets", "evaluate", "export"):
    assert name in result.output, name
heavy = {"torch", "fastapi", "sqlalchemy", "onnxruntime", "timm"} & set(sys.modules)
assert not heavy, heavy
"""
    result = run_blocked(code, ("torch",))
    assert result.returncode == 0, result.stderr


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text("utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
        elif isinstance(node, ast.ImportFrom) and node.level >= 2:
            names.add("." * node.level + (node.module or ""))
    return names


# Third-party packages a part must never import (model and drone install without torch).
TORCH = ("torch", "torchvision", "timm", "albumentations")
FORBIDDEN = {"model": TORCH, "drone": TORCH, "serve": TORCH, "datasets": ("torch",), "training": ()}

# The arrows of the house (docs/CONTRIBUTING.md): which other parts each part may import.
# drone -> model only, never the reverse; serve may use drone, drone never serve or training.
PARTS = ("model", "drone", "datasets", "training", "serve")
MAY_IMPORT = {
    "model": set(),
    "drone": {"model"},
    "datasets": {"model"},
    "training": {"model", "datasets"},
    "serve": {"model", "drone", "datasets"},
}


def _offences(part: str, path: Path, name: str) -> str | None:
    level = len(name) - len(name.lstrip("."))
    # Folders between the part's root and this file: `..` from serve/services/x.py is
    # plantscout.serve (inside the part); only a level beyond that reaches out of it.
    depth = len(path.relative_to(REPO / part).parts) - 1
    if level - 1 > depth:
        return f"reaches out of its part with {name}"
    if any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN[part]):
        return f"imports {name}"
    if name.startswith("plantscout."):
        other = name.split(".")[1]
        if other in PARTS and other != part and other not in MAY_IMPORT[part]:
            return f"imports {name} ({part} -> {other} is not an allowed arrow)"
    return None


@pytest.mark.parametrize("part", PARTS)
def test_dependency_direction(part: str) -> None:
    offenders = []
    for path in (REPO / part).rglob("*.py"):
        for name in _imports(path):
            offence = _offences(part, path, name)
            if offence:
                offenders.append(f"{path.relative_to(REPO)} {offence}")
    assert not offenders, offenders


@pytest.mark.parametrize(
    ("part", "name", "allowed"),
    [
        ("drone", "plantscout.model.scorer", True),
        ("drone", "plantscout.serve.app", False),
        ("drone", "plantscout.training.train", False),
        ("model", "plantscout.drone.scan", False),
        ("serve", "plantscout.drone.jobs", True),
        ("serve", "plantscout.training", False),
    ],
)
def test_the_arrow_rule_itself(part: str, name: str, allowed: bool) -> None:
    """The checker would catch a forbidden arrow (a test that cannot fail proves nothing)."""
    path = REPO / part / "__init__.py"
    assert (_offences(part, path, name) is None) is allowed
