"""The gallery on the released bundle's real embedding (the default bundle ships in the repo).

plants-v1 has no opium poppy, so corn / California / tree poppy photos stand in for the
pixels: a gallery of 10 of them filed as ``opium_poppy`` plus 300 negatives must turn
*other* poppy photos from "review (stand-in)" into gallery-raised opium-poppy levels, while
photos of other labels stay as they were. Most of these photos were in the bundle's training
data, so this shows the mechanism on a real embedding, not how well an unseen species is
recognised: that is measured on held-out splits in ``benchmarks/gallery_fewshot.py``.
About 10 s on 2 cores (400 photos through the real network): the only test of a gallery on
the network that ships.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from plantscout.model import Level, Scorer, load_bundle
from plantscout.model.gallery.gallery import Gallery, Negative, Reference
from plantscout.model.gallery.gallery_scoring import GalleryScorer, embed_files


@pytest.fixture(scope="module")
def released() -> Scorer:
    return Scorer(load_bundle(None), intra_op_threads=2)


@pytest.mark.slow
def test_gallery_raises_held_out_poppies_and_leaves_other_labels(
    released: Scorer, plants_v1: Path, plants_manifest_rows
) -> None:
    def photos(label: str) -> list[Path]:
        return [
            plants_v1 / r["path"]
            for r in plants_manifest_rows
            if r["label"] == label and r["kind"] == "photo"
        ]

    poppies = photos("ornamental_poppy")
    references, held_out = poppies[::5][:10], poppies[2::5][:20]
    gallery = Gallery.new(released.identity, released.card.embedding_dim)
    embedded = embed_files(released, references)
    gallery.add(
        [Reference("opium_poppy", sha, source="stand-in", group=sha) for sha in embedded.sha256],
        embedded.embeddings,
    )
    # 300 negatives: the fewest that can show < 1 % false alarms with 95 % confidence.
    negatives = photos("cannabis")[:100] + photos("other_plant")[:100] + photos("background")[:100]
    embedded = embed_files(released, negatives)
    labels = ["cannabis"] * 100 + ["other_plant"] * 100 + ["background"] * 100
    gallery.add_negatives(
        [Negative(sha, label=label) for sha, label in zip(embedded.sha256, labels, strict=True)],
        embedded.embeddings,
    )
    rule = gallery.rules["opium_poppy"]
    assert rule.match is not None and rule.alert is not None  # 300 negatives measured
    wrapped = GalleryScorer(released, gallery)

    def raised(paths: list[Path]) -> tuple[int, int]:
        count = changed = 0
        for path in paths:
            decoded = released.read(path)
            plain, score = released.score_image(decoded), wrapped.score_image(decoded)
            assert plain.species_score("opium_poppy").level is not Level.ALERT  # never, alone
            poppy = score.species_score("opium_poppy")
            count += poppy.source == "gallery"
            changed += score.verdict is not plain.verdict
        return count, changed

    poppy_raised, poppy_changed = raised(held_out)
    others = (
        photos("cannabis")[100:130] + photos("other_plant")[100:130] + photos("background")[100:130]
    )
    other_raised, _ = raised(others)
    print(
        f"poppies raised {poppy_raised}/{len(held_out)}, verdicts changed {poppy_changed}; "
        f"others raised {other_raised}/{len(others)}"
    )
    assert poppy_raised >= 15 and poppy_changed >= 10, (poppy_raised, poppy_changed)
    assert other_raised <= 0.05 * len(others), other_raised
