"""The on-device decision graph decides exactly as ``score_from_logits`` does.

The field page runs the bundle's network and then a decision graph generated from the card
(``serve/services/decision_graph.py``). These tests run that graph with ONNX Runtime on the
same numbers the Python rules see — random logits, logits placed a hair either side of every
threshold, unfamiliar embeddings, dark and small photos — and on real photos through the
released bundle, and require the same verdict, reason, levels, stand-ins and probabilities.
Then the endpoints: card, network and decision graph with their sha256 ETags.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from plantscout.model import Scorer, load_bundle
from plantscout.model.bundle import RELEASES_DIR
from plantscout.model.preprocess import preprocess
from plantscout.model.score import score_from_logits
from plantscout.model.testing import add_familiarity, build_tiny_bundle
from plantscout.serve.services.decision_graph import (
    LEVELS,
    REASONS,
    VERDICTS,
    build_decision_graph,
    controlled_keys,
    read_references,
)

RELEASED = RELEASES_DIR / "plantscout-lite0-1.0.0"


def run_graph(bundle, logits, *, embedding=None, image=None, min_side=None):
    card = bundle.card
    session = ort.InferenceSession(
        build_decision_graph(card, read_references(bundle)), providers=["CPUExecutionProvider"]
    )
    n = len(logits)
    size = card.preprocessing.input_size
    feeds = {
        "logits": np.asarray(logits, np.float32),
        "image": np.zeros((n, 3, size, size), np.float32) if image is None else image,
        "min_side": np.full(n, 1000, np.int64) if min_side is None else min_side,
    }
    if card.familiarity is not None:
        feeds["embedding"] = np.asarray(embedding, np.float32)
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(None, feeds), strict=True))


def python_scores(bundle, logits, *, embedding=None, image=None, min_side=None):
    """What the service decides for the same numbers (Scorer's quality rule included)."""
    card = bundle.card
    scorer_rules = Scorer.__new__(Scorer)  # only the quality and familiarity helpers
    scorer_rules.card, scorer_rules.bundle = card, bundle
    familiarity = (
        scorer_rules.familiarity(np.asarray(embedding, np.float32))
        if card.familiarity is not None
        else [None] * len(logits)
    )
    results = []
    for i, row in enumerate(np.asarray(logits, np.float32)):
        reason = None
        if image is not None:

            class Decoded:  # the two fields the quality rule reads
                width = height = int(min_side[i])

            reason = scorer_rules._quality_reason(Decoded, image[i])
        results.append(
            score_from_logits(
                card, row, bundle.identity(), quality_reason=reason, familiarity=familiarity[i]
            )
        )
    return results


def assert_same(graph: dict, scores: list) -> None:
    keys = controlled_keys()
    labels = list(scores[0].probabilities)
    for i, score in enumerate(scores):
        assert VERDICTS[graph["verdict"][i]].value == score.verdict.value, i
        assert REASONS[graph["reason"][i]] == score.unusable_reason, i
        assert labels[graph["top_label"][i]] == score.top_label, i
        np.testing.assert_allclose(
            graph["probabilities"][i], list(score.probabilities.values()), rtol=0, atol=1e-12
        )
        for c, key in enumerate(keys):
            species = score.species_score(key)
            assert LEVELS[graph["levels"][i, c]] == (species.level.value if species.level else None)
            via = graph["via"][i, c]
            assert (labels[via] if via >= 0 else None) == species.via
            assert bool(graph["unfamiliar"][i, c]) == species.unfamiliar
            if species.familiarity is not None:
                assert graph["familiarity"][i] == pytest.approx(species.familiarity, abs=1e-6)


def logits_around_thresholds(card, rng: np.random.Generator) -> np.ndarray:
    """Random logits, plus logits whose calibrated probability sits just either side of each
    threshold (and of the unusable rule): where a re-typed rule would disagree first."""
    k = len(card.labels)
    rows = list(rng.normal(0, 4, size=(400, k)))
    cuts = [
        (card.label_keys.index(lab.key), t)
        for lab in card.labels
        for t in (lab.thresholds.alert, lab.thresholds.review)
        if t is not None
    ]
    if card.decision.unusable_label:
        cuts.append(
            (
                card.label_keys.index(card.decision.unusable_label),
                card.decision.unusable_min_probability,
            )
        )
    for index, p in cuts:
        for delta in (-1e-4, 1e-4):
            target = min(max(p + delta, 1e-6), 1 - 1e-6)
            # others equal: softmax gives p_i = e^a / (e^a + (k-1)); solve for a
            row = np.zeros(k)
            row[index] = np.log(target * (k - 1) / (1 - target)) * card.temperature
            rows.append(row + rng.normal(0, 1e-3, k) * (np.arange(k) != index))
    return np.asarray(rows, np.float32)


@pytest.fixture(scope="module")
def released():
    return load_bundle(RELEASED)


def test_released_bundle_decides_like_python_on_numbers_at_every_threshold(released) -> None:
    logits = logits_around_thresholds(released.card, np.random.default_rng(0))
    assert_same(run_graph(released, logits), python_scores(released, logits))


def test_tiny_bundle_photo_quality_rules(tmp_path: Path) -> None:
    bundle = load_bundle(build_tiny_bundle(tmp_path / "tiny"))
    rng = np.random.default_rng(1)
    n = 160
    logits = rng.normal(0, 3, size=(n, len(bundle.card.labels))).astype(np.float32)
    # cannabis against background only: the "no plant unless a species is raised" rule
    logits[60:, 1:4] = -20
    logits[60:, [0, 4]] = rng.uniform(-1.5, 1.5, size=(n - 60, 2))
    size = bundle.card.preprocessing.input_size
    # brightness from black to mid-grey (around the too-dark cut) and sides around min_side
    levels = np.linspace(-1.0, -0.7, n, dtype=np.float32)
    image = np.broadcast_to(levels[:, None, None, None], (n, 3, size, size)).copy()
    image += rng.normal(0, 0.01, image.shape).astype(np.float32)
    min_side = rng.integers(80, 110, n).astype(np.int64)
    graph = run_graph(bundle, logits, image=image, min_side=min_side)
    scores = python_scores(bundle, logits, image=image, min_side=min_side)
    assert {s.unusable_reason for s in scores} >= {"too_dark", "too_small", None}
    assert_same(graph, scores)


def test_familiarity_gate_lowers_unfamiliar_alerts_like_python(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    references = rng.normal(0, 1, size=(40, 3))
    path = add_familiarity(build_tiny_bundle(tmp_path / "gated"), references, alert_min=0.9, k=5)
    bundle = load_bundle(path)
    n = 300
    logits = rng.normal(0, 3, size=(n, len(bundle.card.labels))).astype(np.float32)
    logits[:, 0] += 4  # many cannabis alerts, so the gate has work to do
    embedding = rng.normal(0, 1, size=(n, 3)).astype(np.float32)
    graph = run_graph(bundle, logits, embedding=embedding)
    scores = python_scores(bundle, logits, embedding=embedding)
    unfamiliar = [s.species_score("cannabis").unfamiliar for s in scores]
    assert 0 < sum(unfamiliar) < n  # both sides of the gate are exercised
    assert_same(graph, scores)


def test_real_photos_through_the_released_network_and_graph(released, real_photo) -> None:
    """The whole offline path in Python: network outputs fed to the graph give the service's
    scores for real photos of every label."""
    scorer = Scorer(released, intra_op_threads=1)
    photos = [
        real_photo(label, i)
        for label in ("cannabis", "ornamental_poppy", "cannabis_lookalike", "background")
        for i in range(3)
    ]
    decoded = [scorer.read(p) for p in photos]
    batch = np.stack([preprocess(d.image, released.card.preprocessing) for d in decoded])
    raw = scorer.run(batch)
    sides = np.array([min(d.width, d.height) for d in decoded], np.int64)
    graph = run_graph(released, raw.logits, image=batch, min_side=sides)
    assert_same(graph, scorer.score_images(decoded))
    assert {VERDICTS[v].value for v in graph["verdict"]} >= {"suspected", "review", "unusable"}


# -- endpoints -----------------------------------------------------------------------------------


def test_model_endpoints_serve_the_bundle_by_sha256(make_service, tiny_bundle) -> None:
    service = make_service(model_path=tiny_bundle)
    inspector = service.auth("inspector")
    assert service.client.get("/v1/model/card").status_code == 401
    card = service.client.get("/v1/model/card", headers=inspector)
    assert card.status_code == 200, card.text
    body = card.json()
    bundle = load_bundle(tiny_bundle)
    assert body["model"] == bundle.identity()
    assert body["card"]["labels"][0]["key"] == bundle.card.label_keys[0]
    files = body["files"]
    network = service.client.get(files["network"]["url"], headers=inspector)
    assert network.status_code == 200
    assert network.content == (tiny_bundle / "model.onnx").read_bytes()
    assert network.headers["etag"] == f'"{bundle.sha256}"'
    assert files["network"]["sha256"] == bundle.sha256
    decision = service.client.get(files["decision"]["url"], headers=inspector)
    assert decision.status_code == 200
    assert hashlib.sha256(decision.content).hexdigest() == files["decision"]["sha256"]
    assert decision.headers["etag"] == f'"{files["decision"]["sha256"]}"'
    ort.InferenceSession(decision.content, providers=["CPUExecutionProvider"])
    # a phone that already has it gets a 304; a request pinned to another bundle, a 409
    again = service.client.get(
        files["network"]["url"], headers={**inspector, "If-None-Match": f'"{bundle.sha256}"'}
    )
    assert again.status_code == 304 and again.content == b""
    stale = service.client.get("/v1/model/onnx", params={"sha256": "0" * 64}, headers=inspector)
    assert stale.status_code == 409
    assert stale.json()["error"]["code"] == "conflict"
    bad = service.client.get("/v1/model/decision", params={"sha256": "x"}, headers=inspector)
    assert bad.status_code == 422
