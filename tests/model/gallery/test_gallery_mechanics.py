"""Gallery mechanics with the colour-rule bundle, whose embedding is the mean colour.

The tiny bundle cannot recognise plants, so these tests use synthetic colours whose
classifier verdicts are known exactly (purple -> other_plant, clear) and check what the
gallery does to them. Whether a gallery recognises *real* plants is tested with a real
embedding in ``test_gallery_real_photos.py`` and measured in ``benchmarks/gallery_fewshot.py``.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from plantscout.model import Level, Scorer, Verdict
from plantscout.model.gallery.gallery import (
    Gallery,
    GalleryError,
    GalleryMismatch,
    Negative,
    Reference,
)
from plantscout.model.gallery.gallery_scoring import GalleryScorer, embed_files
from plantscout.model.testing import build_tiny_bundle


def jpeg(colour: tuple[int, int, int], size: tuple[int, int] = (160, 120)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "JPEG", quality=95)
    return buffer.getvalue()


PURPLE_GROUPS = {
    "case-1": [(150, 50, 200), (160, 40, 210), (145, 55, 195), (155, 45, 205)],
    "case-2": [(140, 60, 190), (165, 50, 215), (150, 40, 195), (158, 52, 208)],
    "case-3": [(148, 58, 202), (152, 44, 198), (162, 56, 212), (143, 47, 193)],
}
HELD_OUT_PURPLE = (153, 49, 201)  # a new photo, in no reference group
NEGATIVE_COLOURS = [
    (r, g, b)
    for r in range(10, 256, 35)
    for g in range(10, 256, 35)
    for b in range(10, 256, 35)
    if not (r >= 80 and g <= 80 and b >= 115)  # nothing purple among the negatives
]


@pytest.fixture(scope="module")
def scorer(tiny_bundle) -> Scorer:
    return Scorer(tiny_bundle, intra_op_threads=1, batch_size=8)


def _score(scorer, colour):
    return scorer.score_image(scorer.read(jpeg(colour)))


def _gallery(scorer, photo_dir, groups=PURPLE_GROUPS, label="opium_poppy") -> Gallery:
    gallery = Gallery.new(scorer.identity, scorer.card.embedding_dim)
    for group, colours in groups.items():
        embedded = embed_files(scorer, photo_dir(group, colours))
        refs = [
            Reference(label, sha, source="test office", licence="internal", group=group)
            for sha in embedded.sha256
        ]
        gallery.add(refs, embedded.embeddings)
    return gallery


def _add_negatives(scorer, photo_dir, gallery: Gallery) -> None:
    embedded = embed_files(scorer, photo_dir("negatives", NEGATIVE_COLOURS))
    gallery.add_negatives([Negative(s) for s in embedded.sha256], embedded.embeddings)


def test_a_new_controlled_label_goes_to_review_from_the_gallery(scorer, photo_dir) -> None:
    plain = _score(scorer, HELD_OUT_PURPLE)
    assert plain.verdict is Verdict.CLEAR  # the classifier has no opium_poppy output
    assert plain.species_score("opium_poppy").level is None

    gallery = _gallery(scorer, photo_dir)
    rule = gallery.rules["opium_poppy"]
    assert rule.match is not None and rule.groups == 3 and rule.held_out_positives == 12
    assert rule.alert is None  # no negatives measured: review is its strongest word
    assert "review only" in rule.note

    score = GalleryScorer(scorer, gallery).score_image(scorer.read(jpeg(HELD_OUT_PURPLE)))
    poppy = score.species_score("opium_poppy")
    assert score.verdict is Verdict.REVIEW
    assert poppy.level is Level.REVIEW and poppy.source == "gallery" and not poppy.trained
    assert "gallery" in poppy.message.en
    assert score.probabilities == plain.probabilities  # classifier output untouched
    data = score.as_dict()
    assert data["gallery"]["label"] == "opium_poppy"
    assert data["gallery"]["raised"] == ["opium_poppy"]
    assert data["gallery"]["sha256"] == gallery.sha256
    assert data["gallery"]["bundle_sha256"] == scorer.identity["sha256"]
    assert data["gallery"]["nearest"][0]["licence"] == "internal"
    assert data["model"] == scorer.identity


def test_alerts_only_with_a_measured_false_alarm_rate(scorer, photo_dir) -> None:
    gallery = _gallery(scorer, photo_dir)
    _add_negatives(scorer, photo_dir, gallery)
    rule = gallery.rules["opium_poppy"]
    assert rule.negatives >= 300  # enough to show < 1 % false alarms with 95 % confidence
    assert rule.alert is not None and rule.alert >= rule.match
    assert rule.false_rate_at_alert <= 0.01 and rule.false_rate_at_match <= 0.05
    wrapped = GalleryScorer(scorer, gallery)
    score = wrapped.score_image(scorer.read(jpeg(HELD_OUT_PURPLE)))
    assert score.verdict is Verdict.SUSPECTED
    assert score.species_score("opium_poppy").level is Level.ALERT
    # Negatives (photos known not to be the label) mostly stay unmatched.
    matched = [wrapped.score_image(scorer.read(jpeg(c))).gallery["label"] for c in NEGATIVE_COLOURS]
    assert matched.count("opium_poppy") <= 0.05 * len(NEGATIVE_COLOURS)


def test_the_gallery_never_lowers_what_the_classifier_raised(scorer, photo_dir) -> None:
    wrapped = GalleryScorer(scorer, _gallery(scorer, photo_dir))
    green = wrapped.score_image(scorer.read(jpeg((20, 200, 30))))
    assert green.verdict is Verdict.SUSPECTED
    cannabis = green.species_score("cannabis")
    assert cannabis.level is Level.ALERT and cannabis.source == "classifier"
    grey = wrapped.score_image(scorer.read(jpeg((128, 128, 128))))
    assert grey.verdict is Verdict.UNUSABLE and grey.gallery["label"] is None
    dark = wrapped.score_image(scorer.read(jpeg((2, 12, 3))))
    assert dark.verdict is Verdict.UNUSABLE and dark.unusable_reason == "too_dark"


def test_one_group_of_references_decides_nothing(scorer, photo_dir) -> None:
    gallery = _gallery(scorer, photo_dir, {"case-1": PURPLE_GROUPS["case-1"]})
    assert gallery.rules["opium_poppy"].match is None
    assert "at least 2 groups" in gallery.rules["opium_poppy"].note
    score = GalleryScorer(scorer, gallery).score_image(scorer.read(jpeg(HELD_OUT_PURPLE)))
    assert score.verdict is Verdict.CLEAR


def test_strengthens_an_existing_label(scorer, photo_dir) -> None:
    olive = (90, 110, 60)
    plain = _score(scorer, olive)
    assert plain.verdict is Verdict.UNUSABLE  # the classifier calls it background
    olives = {
        "farm-a": [(88, 108, 58), (92, 112, 62), (86, 106, 57)],
        "farm-b": [(94, 114, 64), (89, 111, 59), (91, 109, 61)],
    }
    score = GalleryScorer(scorer, _gallery(scorer, photo_dir, olives, "cannabis")).score_image(
        scorer.read(jpeg(olive))
    )
    cannabis = score.species_score("cannabis")
    assert cannabis.level is Level.REVIEW and cannabis.source == "gallery" and cannabis.trained
    assert score.verdict is Verdict.REVIEW  # a raised species overrides "not a plant"


def test_a_new_lookalike_stands_in_for_the_species_the_model_cannot_see(tmp_path, photo_dir):
    labels = ("cannabis", "cannabis_lookalike", "other_plant", "background")
    scorer = Scorer(build_tiny_bundle(tmp_path / "no-poppy", labels=labels), intra_op_threads=1)
    gallery = _gallery(scorer, photo_dir, label="ornamental_poppy")
    score = GalleryScorer(scorer, gallery).score_image(scorer.read(jpeg(HELD_OUT_PURPLE)))
    poppy = score.species_score("opium_poppy")
    assert poppy.level is Level.REVIEW and poppy.via == "ornamental_poppy"
    assert poppy.source == "gallery" and score.gallery["label"] == "ornamental_poppy"


def test_a_gallery_from_another_bundle_is_refused(scorer, photo_dir, tmp_path) -> None:
    gallery = _gallery(scorer, photo_dir)
    other = Scorer(build_tiny_bundle(tmp_path / "other", input_size=48), intra_op_threads=1)
    assert other.identity["sha256"] != scorer.identity["sha256"]
    with pytest.raises(GalleryMismatch, match="rebuild the gallery") as caught:
        GalleryScorer(other, gallery)
    assert scorer.identity["sha256"][:12] in caught.value.message
    assert other.identity["sha256"][:12] in caught.value.message
    from plantscout.model.gallery.gallery import apply_gallery

    with pytest.raises(GalleryMismatch):
        apply_gallery(other.score_image(other.read(jpeg(HELD_OUT_PURPLE))), gallery, other.card)


def test_round_trip_remove_and_labels(scorer, photo_dir, tmp_path) -> None:
    gallery = _gallery(scorer, photo_dir)
    _add_negatives(scorer, photo_dir, gallery)
    path = gallery.save(tmp_path / "g.npz")
    loaded = Gallery.load(path)
    assert loaded.sha256 == gallery.sha256 and loaded.labels == {"opium_poppy": 12}
    assert loaded.rules["opium_poppy"] == gallery.rules["opium_poppy"]
    assert np.allclose(loaded.embeddings, gallery.embeddings)
    first = loaded.references[0].sha256
    assert loaded.remove(sha256=first[:10]) == 1 and loaded.labels == {"opium_poppy": 11}
    assert loaded.remove(label="opium_poppy") == 11 and loaded.rules == {}
    score = GalleryScorer(scorer, loaded).score_image(scorer.read(jpeg(HELD_OUT_PURPLE)))
    assert score.verdict is Verdict.CLEAR
    with pytest.raises(GalleryError, match="unknown label"):
        loaded.add([Reference("papaver", "0" * 64)], np.zeros((1, 3)))
    (tmp_path / "bad.npz").write_bytes(b"not a gallery")
    with pytest.raises(GalleryError, match="not a plantscout gallery"):
        Gallery.load(tmp_path / "bad.npz")


def test_tiles_go_through_the_gallery_too(scorer, photo_dir) -> None:
    wrapped = GalleryScorer(scorer, _gallery(scorer, photo_dir))
    size = scorer.card.preprocessing.input_size
    tile = np.zeros((size, size, 3), np.uint8)
    tile[...] = HELD_OUT_PURPLE
    (score,) = wrapped.score_tiles([tile])
    assert score.species_score("opium_poppy").source == "gallery"


def test_false_matches_are_bounded_per_kind_of_negative_not_only_pooled() -> None:
    """200 easy negatives (far away) must not let 30 hard ones (other red flowers) match."""
    rng = np.random.default_rng(0)
    gallery = Gallery.new({"name": "t", "version": "1", "sha256": "0" * 64}, 8)

    def around(centre: np.ndarray, spread: float, n: int) -> np.ndarray:
        return centre + spread * rng.standard_normal((n, 8))

    poppy = np.eye(8)[0]
    refs = around(poppy, 0.15, 12)
    gallery.add(
        [Reference("ornamental_poppy", f"{i:064d}", group=f"g{i % 4}") for i in range(12)], refs
    )
    easy = around(np.eye(8)[5], 0.2, 200)
    hard = around(poppy + 0.5 * np.eye(8)[1], 0.2, 30)  # close to the references
    gallery.add_negatives(
        [Negative(f"e{i}", label="background") for i in range(200)]
        + [Negative(f"h{i}", label="other_plant") for i in range(30)],
        np.concatenate([easy, hard]),
    )
    rule = gallery.rules["ornamental_poppy"]
    hard_sims = gallery.similarities(hard)["ornamental_poppy"]
    assert np.mean(hard_sims >= rule.match) <= 0.05  # per kind, not 30/230 pooled
    assert rule.worst_negative_kind in ("other_plant", "background")
    assert rule.worst_false_rate_at_match <= 0.05
