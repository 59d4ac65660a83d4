"""The bundle registry: add, find, promote, rollback, history, and its CLI."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from plantscout.model import load_bundle
from plantscout.model.lifecycle.registry import Registry, RegistryError
from plantscout.model.registry_cli import app


def _keys(registry: Registry) -> list[str]:
    return [e.key for e in registry.entries()]


def test_add_is_validated_and_idempotent(registry: Registry, bundle_pair) -> None:
    keys = _keys(registry)
    assert len(keys) == 2 and all(k.startswith("plantscout-test-1.") for k in keys)
    assert registry.add(bundle_pair[0]).key in keys and len(_keys(registry)) == 2
    assert registry.current() is None  # adding never changes what is current


def test_promote_rollback_and_history(registry: Registry, bundle_pair) -> None:
    a, b = (load_bundle(p) for p in bundle_pair)
    registry.promote("1.0.0")
    assert registry.current().bundle.sha256 == a.sha256
    registry.promote(b.sha256[:8])  # a sha256 prefix names a bundle too
    assert registry.current().bundle.sha256 == b.sha256
    assert registry.rollback().bundle.sha256 == a.sha256
    assert registry.current().bundle.sha256 == a.sha256
    with pytest.raises(RegistryError, match="nothing to roll back to"):
        registry.rollback()
    actions = [(e["action"], e.get("previous")) for e in registry.history()]
    assert [a for a, _ in actions] == ["add", "add", "promote", "promote", "rollback"]
    assert actions[-1][1] == registry.find("1.1.0").key  # rollback records what it left
    assert registry.pointer.read_text().strip() == registry.find("1.0.0").key


def test_unknown_ambiguous_and_broken_versions(registry: Registry) -> None:
    with pytest.raises(RegistryError, match="registered: plantscout-test-1.0.0"):
        registry.find("9.9.9")
    with pytest.raises(RegistryError, match="ambiguous"):
        registry.find("plantscout-test")  # never a guess between two bundles
    registry.promote("1.0.0")
    broken = registry.find("1.1.0")
    (broken.path / "model.onnx").write_bytes(b"garbage")
    with pytest.raises(RegistryError, match="damaged"):
        registry.promote("1.1.0")
    assert list(registry.damaged()) == [broken.key]
    assert registry.current().key == registry.find("1.0.0").key  # pointer never moved


def test_a_torn_history_line_is_ignored(registry: Registry) -> None:
    registry.promote("1.0.0")
    with open(registry.root / "history.jsonl", "a") as handle:
        handle.write('{"action": "prom')  # a crash in the middle of a write
    registry.promote("1.1.0")
    assert registry.rollback().key == registry.find("1.0.0").key


def test_cli_list_promote_rollback(tmp_path, bundle_pair) -> None:
    runner = CliRunner()
    root = str(tmp_path / "reg")
    result = runner.invoke(app, ["add", str(bundle_pair[0]), "--registry", root, "--promote"])
    assert result.exit_code == 0, result.output
    assert runner.invoke(app, ["add", str(bundle_pair[1]), "--registry", root]).exit_code == 0
    listing = runner.invoke(app, ["list", "--registry", root])
    assert (
        "* plantscout-test-1.0.0" in listing.output and "cannot see: opium_poppy" in listing.output
    )
    cards = json.loads(runner.invoke(app, ["list", "--registry", root, "--json"]).output)
    assert [c["current"] for c in cards] == [True, False]
    assert cards[0]["labels"][0] == "cannabis" and len(cards[0]["sha256"]) == 64
    result = runner.invoke(app, ["promote", "1.1.0", "--registry", root, "--note", "better"])
    assert result.exit_code == 0 and "current: plantscout-test-1.1.0" in result.output
    assert runner.invoke(app, ["rollback", "--registry", root]).exit_code == 0
    shown = json.loads(runner.invoke(app, ["show", "--registry", root]).output)
    assert shown["version"] == "1.0.0"
    history = runner.invoke(app, ["history", "--registry", root]).output.splitlines()
    assert json.loads(history[-2])["note"] == "better"
    bad = runner.invoke(app, ["promote", "nope", "--registry", root])
    assert bad.exit_code != 0 and "no bundle 'nope'" in bad.output
