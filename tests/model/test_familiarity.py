"""The familiarity gate: an alert needs a familiar look, an unfamiliar one goes to review.

Uses the tiny colour-rule bundle, whose embedding is the normalised mean colour, so the
familiarity of a synthetic photo to a set of references is known exactly.
"""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from plantscout.model import Level, Scorer, Verdict, load_bundle
from plantscout.model.errors import BundleError
from plantscout.model.familiarity import FAMILIARITY_FILE
from plantscout.model.testing import add_familiarity, build_tiny_bundle

GREEN = (0, 255, 0)  # the tiny bundle's cannabis: embedding (-1, 1, -1) / sqrt(3)
LIGHT_GREEN = (140, 255, 120)  # still cannabis at alert for the colour rule


def jpeg(colour: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (160, 120), colour).save(buffer, "PNG")
    return buffer.getvalue()


def score(bundle: Path, colour: tuple[int, int, int]):
    scorer = Scorer(bundle, intra_op_threads=1)
    return scorer.score_image(scorer.read(jpeg(colour)))


@pytest.fixture()
def gated(tmp_path: Path) -> Path:
    """References: pure green only; alerts need cosine similarity >= 0.99 to them."""
    bundle = build_tiny_bundle(tmp_path / "gated")
    return add_familiarity(bundle, np.array([[-1.0, 1.0, -1.0]]), alert_min=0.99)


def test_a_familiar_alert_stays_an_alert(gated: Path) -> None:
    result = score(gated, GREEN)
    cannabis = result.species_score("cannabis")
    assert result.verdict is Verdict.SUSPECTED and cannabis.level is Level.ALERT
    assert cannabis.familiarity == pytest.approx(1.0, abs=1e-3) and not cannabis.unfamiliar


def test_an_unfamiliar_alert_becomes_review_with_a_reason(gated: Path, tmp_path: Path) -> None:
    plain = build_tiny_bundle(tmp_path / "plain")
    assert score(plain, LIGHT_GREEN).verdict is Verdict.SUSPECTED  # the classifier alone alerts
    result = score(gated, LIGHT_GREEN)
    cannabis = result.species_score("cannabis")
    assert result.verdict is Verdict.REVIEW and cannabis.level is Level.REVIEW
    assert cannabis.unfamiliar and cannabis.familiarity < 0.99
    assert "never seen" in cannabis.message.en and cannabis.message.zh
    shown = next(s for s in result.as_dict()["species"] if s["key"] == "cannabis")
    assert shown["unfamiliar"] is True and shown["level"] == "review"
    assert 0 < shown["familiarity"] < 0.99


def test_without_a_gate_scores_are_unchanged_and_say_so(tmp_path: Path) -> None:
    plain = build_tiny_bundle(tmp_path / "plain")
    result = score(plain, LIGHT_GREEN).as_dict()
    cannabis = next(s for s in result["species"] if s["key"] == "cannabis")
    assert cannabis["familiarity"] is None and cannabis["unfamiliar"] is False
    assert json.loads((plain / "card.json").read_text())["schema"] == "plantscout.bundle/1"


def test_tiles_are_gated_too(gated: Path) -> None:
    scorer = Scorer(gated, intra_op_threads=1)
    tile = np.zeros((64, 64, 3), np.uint8)
    tile[...] = LIGHT_GREEN
    (result,) = scorer.score_tiles([tile])
    assert result.species_score("cannabis").level is Level.REVIEW


def test_changed_references_are_refused(gated: Path, tmp_path: Path) -> None:
    copy = tmp_path / "tampered"
    shutil.copytree(gated, copy)
    with np.load(copy / FAMILIARITY_FILE) as data:
        refs = data["references"].copy()
    refs[0, 0] += 0.5
    np.savez(copy / FAMILIARITY_FILE, references=refs)
    with pytest.raises(BundleError, match="sha256"):
        load_bundle(copy)
    (copy / FAMILIARITY_FILE).unlink()
    with pytest.raises(BundleError, match="missing"):
        load_bundle(copy)


def test_schema_and_gate_must_agree(gated: Path, tmp_path: Path) -> None:
    card = json.loads((gated / "card.json").read_text())
    without_gate = dict(card)
    del without_gate["familiarity"]
    old_schema = {**card, "schema": "plantscout.bundle/1"}
    wrong_label = {**card, "familiarity": {**card["familiarity"], "label": "other_plant"}}
    for bad, message in (
        (without_gate, "familiarity"),
        (old_schema, "familiarity"),
        (wrong_label, "controlled"),
    ):
        copy = tmp_path / f"bad-{len(list(tmp_path.iterdir()))}"
        shutil.copytree(gated, copy)
        (copy / "card.json").write_text(json.dumps(bad))
        with pytest.raises(BundleError, match=message):
            load_bundle(copy)
