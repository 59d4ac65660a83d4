"""One answer to "which bundle?": --model, else the registry's current, else $PLANTSCOUT_MODEL,
else the released default — for every command (issue 12)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from plantscout.cli import cli
from plantscout.drone.synthetic import drone_jpeg
from plantscout.model import load_bundle
from plantscout.model.bundle import default_bundle_path
from plantscout.model.lifecycle.registry import Registry
from plantscout.model.lifecycle.resolve import bundle_candidates, resolve_bundle


def _sha(path: Path) -> str:
    return load_bundle(path, check_onnx=False).sha256


def test_the_order(registry: Registry, bundle_pair, tiny_bundle, monkeypatch) -> None:
    monkeypatch.delenv("PLANTSCOUT_MODEL", raising=False)
    choice = resolve_bundle(registry=registry)  # nothing promoted, no variable
    assert (choice.source, choice.path) == ("default", default_bundle_path())
    monkeypatch.setenv("PLANTSCOUT_MODEL", str(tiny_bundle))
    choice = resolve_bundle(registry=registry)
    assert (choice.source, choice.path) == ("environment", tiny_bundle.resolve())
    registry.promote("1.1.0")
    choice = resolve_bundle(registry=registry)
    assert (choice.source, choice.key) == ("registry", registry.find("1.1.0").key)
    assert _sha(choice.path) == _sha(bundle_pair[1])
    explicit = resolve_bundle(bundle_pair[0], registry=registry)
    assert (explicit.source, explicit.path) == ("explicit", bundle_pair[0].resolve())
    # The service's MODEL_PATH setting stands where $PLANTSCOUT_MODEL does, after the registry.
    steps = list(bundle_candidates(registry=registry, setting=bundle_pair[0]))
    assert [c.source for c in steps] == ["registry", "setting"]
    assert list(bundle_candidates(bundle_pair[0], registry=registry))[-1].source == "explicit"


def test_the_default_registry_is_the_variable_else_var_models(
    tmp_path, bundle_pair, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PLANTSCOUT_REGISTRY", raising=False)
    Registry(tmp_path / "var" / "models").add(bundle_pair[0])
    Registry(tmp_path / "var" / "models").promote("1.0.0")
    assert resolve_bundle().source == "registry"
    monkeypatch.setenv("PLANTSCOUT_REGISTRY", str(tmp_path / "elsewhere"))
    assert resolve_bundle().source != "registry"


@pytest.fixture()
def workdir(tmp_path: Path, monkeypatch, tiny_bundle: Path) -> Path:
    """A fresh folder as the working directory, its registry at the default ``var/models``,
    and ``$PLANTSCOUT_MODEL`` naming a third bundle (which the registry must beat)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PLANTSCOUT_REGISTRY", raising=False)
    monkeypatch.setenv("PLANTSCOUT_MODEL", str(tiny_bundle))
    return tmp_path


def _run(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def _score_sha(photo: Path, *extra: str) -> str:
    lines = _run("score", "--json", str(photo), *extra).strip().splitlines()
    return json.loads(lines[-1])["model"]["sha256"]


def _scan_sha(frame: Path, out: Path) -> str:
    text = _run("scan", str(frame), "--out", str(out), "-q")
    summary = json.loads((out / "summary.json").read_text("utf-8"))
    [model] = summary["models"]
    assert model["sha256"][:12] in text  # the printed summary names it too
    return model["sha256"]


def test_promote_reaches_score_and_scan(workdir: Path, bundle_pair, tiny_bundle, real_photo):
    photo = real_photo("cannabis")
    frame = workdir / "DJI_0001.JPG"
    frame.write_bytes(drone_jpeg(patches=((560, 160, 840, 440),)))
    first, second = (_sha(b) for b in bundle_pair)
    assert _score_sha(photo) == _sha(tiny_bundle)  # no registry yet: $PLANTSCOUT_MODEL

    for bundle in bundle_pair:
        _run("model", "add", str(bundle))
    _run("model", "promote", "1.1.0")
    assert _score_sha(photo) == second
    assert _scan_sha(frame, workdir / "scan-a") == second
    assert json.loads(_run("model", "which", "--json"))["model"]["sha256"] == second

    _run("model", "promote", "1.0.0")
    assert _score_sha(photo) == first
    assert _scan_sha(frame, workdir / "scan-b") == first
    # --model still wins over everything.
    assert _score_sha(photo, "--model", str(bundle_pair[1])) == second
