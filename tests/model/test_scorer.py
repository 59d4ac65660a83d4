"""The scorer end to end through ONNX Runtime, with the colour-rule bundle and real photos."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from plantscout.model import Level, Scorer, Verdict, combine_scores, load_bundle
from plantscout.model.score import softmax


def jpeg(colour: tuple[int, int, int], size: tuple[int, int] = (320, 240)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "JPEG", quality=95)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def scorer(tiny_bundle: Path) -> Scorer:
    return Scorer(tiny_bundle, intra_op_threads=1, batch_size=4)


def test_green_is_suspected_cannabis_and_names_the_bundle(scorer: Scorer, tiny_bundle) -> None:
    score = scorer.score_image(scorer.read(jpeg((20, 200, 30))))
    assert score.verdict is Verdict.SUSPECTED
    cannabis = score.species_score("cannabis")
    assert cannabis.level is Level.ALERT and cannabis.trained
    assert cannabis.probability == pytest.approx(score.probabilities["cannabis"])
    assert sum(score.probabilities.values()) == pytest.approx(1.0)
    assert score.model == load_bundle(tiny_bundle).identity()
    data = score.as_dict()
    assert data["model"]["sha256"] == scorer.bundle.sha256
    assert data["image"]["width"] == 320 and len(data["image"]["sha256"]) == 64


def test_poppy_family_flower_asks_for_review_never_an_opium_poppy_alert(scorer: Scorer) -> None:
    score = scorer.score_image(scorer.read(jpeg((230, 40, 40))))
    assert score.top_label == "ornamental_poppy"
    poppy = score.species_score("opium_poppy")
    assert poppy.trained is False and poppy.probability is None
    assert poppy.level is Level.REVIEW and poppy.via == "ornamental_poppy"
    assert "opium poppy" in poppy.message.en and "罂粟" in poppy.message.zh
    assert score.verdict is Verdict.REVIEW


def test_grey_is_unusable_not_a_plant(scorer: Scorer) -> None:
    score = scorer.score_image(scorer.read(jpeg((128, 128, 128))))
    assert score.verdict is Verdict.UNUSABLE
    assert score.unusable_reason == "not_a_plant"
    assert "retake" in score.as_dict()["message"]["en"]


def test_dark_and_small_photos_are_unusable_before_any_guess(scorer: Scorer) -> None:
    dark = scorer.score_image(scorer.read(jpeg((2, 12, 3))))
    assert dark.verdict is Verdict.UNUSABLE and dark.unusable_reason == "too_dark"
    small = scorer.score_image(scorer.read(jpeg((20, 200, 30), size=(80, 60))))
    assert small.verdict is Verdict.UNUSABLE and small.unusable_reason == "too_small"


def test_blue_is_clear(scorer: Scorer) -> None:
    score = scorer.score_image(scorer.read(jpeg((30, 60, 220))))
    assert score.verdict is Verdict.CLEAR
    assert all(s.level is None for s in score.species)


def test_batch_scores_equal_one_at_a_time(scorer: Scorer, real_photo) -> None:
    paths = [
        real_photo(label, i)
        for label in ("cannabis", "ornamental_poppy", "background")
        for i in range(3)
    ]
    images = [scorer.read(p) for p in paths] + [scorer.read(jpeg((20, 200, 30)))]
    batched = scorer.score_images(images)  # 10 images in batches of 4: uneven last batch
    single = [scorer.score_image(image) for image in images]
    assert len(batched) == len(images)
    for a, b in zip(batched, single, strict=True):
        assert a.verdict is b.verdict
        assert a.image == b.image
        for key in a.probabilities:
            assert a.probabilities[key] == pytest.approx(b.probabilities[key], abs=1e-5)
        np.testing.assert_allclose(a.embedding, b.embedding, atol=1e-5)


def test_embeddings_are_l2_normalised(scorer: Scorer, real_photo) -> None:
    scores = scorer.score_images([scorer.read(real_photo("other_plant", i)) for i in range(4)])
    norms = [float(np.linalg.norm(s.embedding)) for s in scores]
    assert norms == pytest.approx([1.0] * 4, abs=1e-4)


def test_score_files_streams_in_batches(scorer: Scorer, real_photo) -> None:
    paths = [real_photo("cannabis", i) for i in range(6)]
    streamed = list(scorer.score_files(paths))
    assert [s.image.sha256 for s in streamed] == [scorer.read(p).sha256 for p in paths]


def test_temperature_flattens_probabilities(tmp_path: Path) -> None:
    from plantscout.model.testing import build_tiny_bundle

    hot = Scorer(build_tiny_bundle(tmp_path / "hot", temperature=4.0), intra_op_threads=1)
    cold = Scorer(build_tiny_bundle(tmp_path / "cold", temperature=1.0), intra_op_threads=1)
    data = jpeg((20, 200, 30))
    p_hot = hot.score_image(hot.read(data)).probabilities["cannabis"]
    p_cold = cold.score_image(cold.read(data)).probabilities["cannabis"]
    assert 0.2 < p_hot < p_cold
    logits = np.array([2.0, 0.0, -1.0])
    assert softmax(logits, 2.0) == pytest.approx(softmax(logits / 2.0))


def test_tiles_are_scored_without_the_unusable_rule(scorer: Scorer) -> None:
    size = scorer.card.preprocessing.input_size
    grey = np.full((size, size, 3), 128, np.uint8)
    green = np.zeros((size, size, 3), np.uint8)
    green[..., 1] = 220
    grey_score, green_score = scorer.score_tiles([grey, green])
    assert grey_score.verdict is Verdict.CLEAR
    assert green_score.verdict is Verdict.SUSPECTED


def test_combined_verdict_of_several_photos(scorer: Scorer) -> None:
    green, red, grey = (
        scorer.score_image(scorer.read(jpeg(c)))
        for c in ((20, 200, 30), (230, 40, 40), (128, 128, 128))
    )
    combined = combine_scores([grey, red, green])
    assert combined["verdict"] == "suspected"
    assert combined["photos"] == 3 and combined["usable"] == 2
    cannabis = next(s for s in combined["species"] if s["key"] == "cannabis")
    assert cannabis["level"] == "alert" and cannabis["photos_at_level"] == 1
    assert combine_scores([grey])["verdict"] == "unusable"
    assert combine_scores([red, grey])["verdict"] == "review"
