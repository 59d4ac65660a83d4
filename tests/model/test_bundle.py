"""Bundle loading refuses any card that disagrees with itself or with its ONNX file."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from plantscout.model import BundleError, NoDefaultModel, Scorer, load_bundle
from plantscout.model.bundle import CARD_FILE, ONNX_FILE, file_sha256, resolve_bundle_path
from plantscout.model.testing import build_tiny_bundle


@pytest.fixture
def bundle_copy(tiny_bundle: Path, tmp_path: Path) -> Path:
    target = tmp_path / "bundle"
    shutil.copytree(tiny_bundle, target)
    return target


def edit_card(directory: Path, change) -> None:
    card = json.loads((directory / CARD_FILE).read_text("utf-8"))
    change(card)
    (directory / CARD_FILE).write_text(json.dumps(card), "utf-8")


def test_a_valid_bundle_loads_and_names_itself(tiny_bundle: Path) -> None:
    bundle = load_bundle(tiny_bundle)
    assert bundle.identity() == {
        "name": "tiny-test",
        "version": "0.0.1",
        "sha256": file_sha256(tiny_bundle / ONNX_FILE),
    }
    assert bundle.card.label_keys[0] == "cannabis"
    assert bundle.card.untrained_controlled == ("opium_poppy",)


def test_changed_onnx_file_is_refused(bundle_copy: Path) -> None:
    with open(bundle_copy / ONNX_FILE, "ab") as handle:
        handle.write(b"\x00")
    with pytest.raises(BundleError, match="sha256"):
        load_bundle(bundle_copy)


def test_card_with_more_labels_than_logits_is_refused(bundle_copy: Path) -> None:
    edit_card(
        bundle_copy,
        lambda c: c["labels"].append(
            {"key": "extra", "name": {"zh": "额外", "en": "extra"}, "role": "other_plant"}
        ),
    )
    with pytest.raises(BundleError, match="5 logits but the card lists 6"):
        load_bundle(bundle_copy)


def test_card_from_another_onnx_file_is_refused(tmp_path: Path) -> None:
    three = build_tiny_bundle(tmp_path / "three", labels=("cannabis", "other_plant", "background"))
    five = build_tiny_bundle(tmp_path / "five")
    shutil.copy(three / ONNX_FILE, five / ONNX_FILE)
    with pytest.raises(BundleError, match="sha256"):
        load_bundle(five)
    # Even with a matching hash, the output size must agree with the labels.
    edit_card(five, lambda c: c["onnx"].update(sha256=file_sha256(five / ONNX_FILE)))
    with pytest.raises(BundleError, match="3 logits"):
        load_bundle(five)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c: c.update(schema="plantscout.bundle/0"), "schema"),
        (lambda c: c.pop("labels"), "malformed"),
        (lambda c: c["labels"].__setitem__(1, dict(c["labels"][0])), "twice"),
        (lambda c: c["calibration"].update(temperature=0), "temperature"),
        (lambda c: c["labels"][0]["thresholds"].update(alert=0.2, review=0.5), "above alert"),
        (lambda c: c["labels"][0]["thresholds"].update(alert=1.5), "outside"),
        (lambda c: c["labels"][0].update(key="not_in_taxonomy"), "no name"),
        (lambda c: c["decision"].update(unusable_label="soil"), "unusable_label"),
        (lambda c: c["preprocessing"].update(input_size=32), "32×32"),
        (lambda c: c["preprocessing"].update(resize="stretch"), "malformed"),
        # A stand-in for an untrained controlled species may only raise `review`.
        (lambda c: c["labels"][1]["thresholds"].update(alert=0.9), "must not have an alert"),
        (lambda c: c["labels"][1].update(review_for="other_plant"), "not a controlled"),
    ],
)
def test_inconsistent_cards_are_refused_with_a_reason(bundle_copy: Path, change, message) -> None:
    edit_card(bundle_copy, change)
    with pytest.raises(BundleError, match=message):
        load_bundle(bundle_copy)


def test_missing_files_and_bad_json_are_clear(bundle_copy: Path, tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="card.json is missing"):
        load_bundle(tmp_path)
    (bundle_copy / CARD_FILE).write_text("{not json", "utf-8")
    with pytest.raises(BundleError, match="not valid JSON"):
        load_bundle(bundle_copy)
    (bundle_copy / ONNX_FILE).unlink()
    with pytest.raises(BundleError, match="model.onnx is missing"):
        load_bundle(bundle_copy)


def test_garbage_onnx_with_matching_hash_is_refused(bundle_copy: Path) -> None:
    (bundle_copy / ONNX_FILE).write_bytes(b"not a protobuf")
    edit_card(bundle_copy, lambda c: c["onnx"].update(sha256=file_sha256(bundle_copy / ONNX_FILE)))
    with pytest.raises(BundleError, match="not a loadable ONNX"):
        load_bundle(bundle_copy)
    with pytest.raises(BundleError):
        Scorer(bundle_copy)


def test_environment_variable_selects_a_bundle(tiny_bundle: Path, monkeypatch) -> None:
    monkeypatch.setenv("PLANTSCOUT_MODEL", str(tiny_bundle))
    assert resolve_bundle_path(None) == tiny_bundle.resolve()


def test_missing_default_model_says_so(monkeypatch, tmp_path: Path) -> None:
    from plantscout.model import bundle as bundle_module

    monkeypatch.delenv("PLANTSCOUT_MODEL", raising=False)
    monkeypatch.setattr(bundle_module, "RELEASES_DIR", tmp_path)
    monkeypatch.setattr(bundle_module, "DEFAULT_POINTER", tmp_path / "DEFAULT")
    with pytest.raises(NoDefaultModel, match="no default model is installed"):
        load_bundle(None)
