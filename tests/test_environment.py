"""Every ``PLANTSCOUT_*`` variable is declared once, and nothing else reads the environment.

The commands' variables live in ``plantscout.model.environment``; the service's are fields of
``plantscout.serve.settings.Settings`` (``PLANTSCOUT_<FIELD>``). A stray ``os.environ`` read
elsewhere is how "which bundle?" came to have three answers (issue 12), so this test greps the
installed source tree for one.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from plantscout.model import environment
from plantscout.serve.settings import Settings

REPO = Path(__file__).resolve().parents[1]
SOURCE = ("plantscout", "model", "drone", "serve", "training", "datasets")
READERS = {REPO / "model" / "environment.py"}  # the one module allowed to read os.environ
NAME = re.compile(r"\bPLANTSCOUT_[A-Z0-9_]+")


def _source_files() -> list[Path]:
    return sorted(p for part in SOURCE for p in (REPO / part).rglob("*.py"))


def _whole_environment_copies(tree: ast.AST) -> set[int]:
    """ids of ``os.environ`` nodes that only hand the whole environment to a child process
    (``{**os.environ, ...}`` or ``os.environ.copy()``): they read no variable by name."""
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            ids |= {id(v) for k, v in zip(node.keys, node.values, strict=True) if k is None}
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "copy"
            and not node.args
        ):
            ids.add(id(node.func.value))
    return ids


def environment_reads(tree: ast.AST) -> list[int]:
    """Lines that touch ``os.environ`` / ``os.getenv`` / ``os.putenv`` (however imported),
    other than passing the whole environment on to a child process."""
    copies = _whole_environment_copies(tree)
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in {"environ", "getenv", "putenv"}:
            if id(node) not in copies:
                lines.append(node.lineno)
        elif isinstance(node, ast.ImportFrom) and node.module == "os":
            if {a.name for a in node.names} & {"environ", "getenv", "putenv"}:
                lines.append(node.lineno)
    return lines


def test_only_the_environment_module_reads_the_environment() -> None:
    strays = []
    for path in _source_files():
        if path in READERS:
            continue
        for line in environment_reads(ast.parse(path.read_text("utf-8"))):
            strays.append(f"{path.relative_to(REPO)}:{line}")
    assert not strays, f"read PLANTSCOUT_* variables through plantscout.model.environment: {strays}"


def test_every_variable_named_in_the_source_is_declared() -> None:
    declared = {v.name for v in environment.VARIABLES}
    settings = {f"PLANTSCOUT_{name.upper()}" for name in Settings.model_fields}
    assert not declared & settings, "a variable is declared twice"
    undeclared = []
    for path in _source_files():
        for name in set(NAME.findall(path.read_text("utf-8"))):
            if name not in declared | settings:
                undeclared.append(f"{path.relative_to(REPO)}: {name}")
    assert not undeclared, undeclared


def test_the_checks_catch_a_stray_read() -> None:
    """Both spellings of a stray read are found (a check that cannot fail proves nothing)."""
    code = 'import os\nfrom os import getenv\nx = os.environ.get("PLANTSCOUT_X")\ny = getenv("A")\n'
    assert environment_reads(ast.parse(code)) == [2, 3]


def test_handing_the_whole_environment_to_a_child_process_is_not_a_read() -> None:
    code = (
        "import os\n"
        "env = {**os.environ, 'LC_ALL': 'C'}\n"
        "env2 = os.environ.copy()\n"
        "bad = {'x': os.environ['PLANTSCOUT_X']}\n"
    )
    assert environment_reads(ast.parse(code)) == [4]
