"""Routers do HTTP only (issue 12): queries live in services, shapes in ``serve/schemas``.

- no router builds a query (``sqlalchemy`` only for the ``Session`` type a route receives);
- no router imports another router;
- no router defines a pydantic model (request and response shapes live in ``schemas/``), and
  every form is a model (``Annotated[Model, Form()]``), so the ``Strict`` checks apply;
- every JSON answer of every route has a named schema (file downloads excepted).
"""

from __future__ import annotations

import ast
from pathlib import Path

import plantscout.serve.routers as routers_package
from plantscout.serve.app import create_app
from plantscout.serve.settings import Settings

# The patrol-planning router arrived (from its own branch) with queries and single-field forms
# of its own; it is exempt until it is brought in line, and listed here so that is visible.
NOT_YET = {"planning.py"}
ROUTERS = sorted(
    p for p in Path(routers_package.__file__).parent.glob("*.py") if p.name not in NOT_YET
)
ALLOWED_SQLALCHEMY = {("sqlalchemy.orm", "Session"), ("sqlalchemy.engine", "make_url")}


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text("utf-8"))


def test_routers_build_no_queries() -> None:
    found = []
    for path in ROUTERS:
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
                found += [
                    (path.name, node.module, alias.name)
                    for alias in node.names
                    if (node.module, alias.name) not in ALLOWED_SQLALCHEMY
                ]
            if isinstance(node, ast.Import):
                found += [(path.name, a.name, "") for a in node.names if "sqlalchemy" in a.name]
    assert found == []


def test_no_router_imports_another_router() -> None:
    names = {p.stem for p in ROUTERS}
    found = []
    for path in ROUTERS:
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.ImportFrom):
                module = node.module or ""
                sibling = node.level == 1 and (module in names or not module)
                if sibling or module.endswith("routers") or ".routers." in module:
                    found.append((path.name, "." * node.level + module))
    assert found == []


def test_routers_define_no_shapes_and_take_forms_as_models() -> None:
    found = []
    for path in ROUTERS:
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.ClassDef):
                bases = {getattr(b, "id", getattr(b, "attr", "")) for b in node.bases}
                if bases & {"BaseModel", "Strict"}:
                    found.append((path.name, node.name))
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") in ("File", "Form"):
                keywords = {k.arg for k in node.keywords}
                if node.func.id == "File" or node.args or keywords - {"media_type"}:
                    found.append((path.name, f"{node.func.id}(...) on a single field"))
    assert found == []


def test_every_json_answer_has_a_named_schema(tmp_path) -> None:
    spec = create_app(Settings(_env_file=None, data_dir=tmp_path)).openapi()
    untyped = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for code, response in operation["responses"].items():
                content = response.get("content", {})
                if not code.startswith("2") or "application/json" not in content:
                    continue
                if len(content) > 1:
                    continue  # a file download that may be JSON (summary.json)
                schema = content["application/json"].get("schema", {})
                items = schema.get("items", {}) if schema.get("type") == "array" else {}
                if "$ref" not in schema and "$ref" not in items:
                    untyped.append((method.upper(), path, code))
    assert untyped == []
