"""Swapping the served model: atomic, in-flight requests finish on the old bundle, and every
score names the bundle that produced it — under concurrent scoring."""

from __future__ import annotations

import io
import threading
from pathlib import Path

import pytest
from PIL import Image

from plantscout.model import Scorer, Verdict, load_bundle
from plantscout.model.gallery.gallery import Gallery, Reference
from plantscout.model.gallery.gallery_scoring import embed_files
from plantscout.model.lifecycle.holder import ModelHolder
from plantscout.model.lifecycle.registry import Registry


def jpeg(colour: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (160, 120), colour).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def make_scorer(bundle) -> Scorer:
    return Scorer(bundle, intra_op_threads=1, batch_size=4)


def test_swaps_under_concurrent_scoring_without_a_failed_request(registry: Registry) -> None:
    registry.promote("1.0.0")
    holder = ModelHolder(registry, make_scorer)
    assert holder.sync()
    photo = jpeg((20, 200, 30))
    stop = threading.Event()
    failures: list[BaseException] = []
    records: list[tuple[str, str]] = []  # (bundle the request took, bundle named by the score)
    lock = threading.Lock()

    def client() -> None:
        while not stop.is_set():
            try:
                loaded = holder.current()  # taken once per request
                score = loaded.scorer.score_image(loaded.scorer.read(photo))
                assert score.verdict is Verdict.SUSPECTED
                with lock:
                    records.append((loaded.identity["sha256"], score.model["sha256"]))
            except BaseException as exc:  # noqa: BLE001 - any failure is the test's finding
                with lock:
                    failures.append(exc)

    threads = [threading.Thread(target=client) for _ in range(4)]
    for thread in threads:
        thread.start()
    swaps = 0
    try:
        for _ in range(4):
            for action in (lambda: holder.promote("1.1.0"), holder.rollback):
                before = len(records)
                action()
                swaps += 1
                while len(records) < before + 8 and not failures:  # let requests run on it
                    threading.Event().wait(0.005)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert not failures, failures[:3]
    assert swaps == 8
    assert all(taken == named for taken, named in records)  # no request straddled a swap
    shas = {
        load_bundle(p).sha256 for p in (registry.find("1.0.0").path, registry.find("1.1.0").path)
    }
    assert {named for _, named in records} == shas  # both bundles really served


class GatedScorer(Scorer):
    """Blocks inside scoring until released: a request that is "in flight" during a swap."""

    gate: threading.Event | None = None
    entered: threading.Event | None = None

    def score_images(self, images):  # type: ignore[override]
        if self.gate is not None:
            self.entered.set()
            self.gate.wait(timeout=30)
        return super().score_images(images)


def test_an_in_flight_request_finishes_on_the_old_bundle(registry: Registry) -> None:
    registry.promote("1.0.0")
    holder = ModelHolder(registry, lambda b: GatedScorer(b, intra_op_threads=1))
    holder.sync()
    old = holder.current()
    old.scorer.scorer.gate, old.scorer.scorer.entered = threading.Event(), threading.Event()
    result: dict[str, object] = {}

    def request() -> None:
        loaded = holder.current()
        result["score"] = loaded.scorer.score_image(loaded.scorer.read(jpeg((20, 200, 30))))

    thread = threading.Thread(target=request)
    thread.start()
    assert old.scorer.scorer.entered.wait(timeout=30)
    holder.promote("1.1.0")  # returns while the request is still inside the old scorer
    new = holder.current()
    assert new.identity["sha256"] != old.identity["sha256"]
    assert thread.is_alive()
    old.scorer.scorer.gate.set()
    thread.join(timeout=30)
    assert result["score"].model == old.identity  # finished on, and names, the old bundle
    fresh = new.scorer.score_image(new.scorer.read(jpeg((20, 200, 30))))
    assert fresh.model == new.identity


def test_a_bundle_that_fails_to_load_is_never_swapped_in(registry: Registry) -> None:
    registry.promote("1.0.0")
    calls = {"n": 0}

    def flaky(bundle) -> Scorer:
        calls["n"] += 1
        if bundle.version == "1.1.0":
            raise RuntimeError("out of memory while creating the session")
        return make_scorer(bundle)

    holder = ModelHolder(registry, flaky)
    holder.sync()
    before = holder.current()
    with pytest.raises(RuntimeError):
        holder.promote("1.1.0")
    assert holder.current() is before
    assert registry.current().key == before.key  # the pointer did not move either


def test_sync_follows_a_promote_from_another_process(registry: Registry) -> None:
    registry.promote("1.0.0")
    holder = ModelHolder(registry, make_scorer)
    holder.sync()
    Registry(registry.root).promote("1.1.0")  # e.g. `plantscout model promote` in a shell
    assert holder.sync() is True
    assert holder.current().key == registry.find("1.1.0").key
    assert holder.sync() is False  # nothing changed since


def test_gallery_attached_in_the_registry_is_picked_up_and_tied_to_its_bundle(
    registry: Registry, tmp_path: Path
) -> None:
    registry.promote("1.0.0")
    holder = ModelHolder(registry, make_scorer)
    holder.sync()
    assert holder.current().scorer.gallery is None
    scorer = holder.current().scorer.scorer
    gallery = Gallery.new(scorer.identity, scorer.card.embedding_dim)
    paths = []
    for index, colour in enumerate(
        [(150, 50, 200), (160, 40, 210), (145, 55, 195), (140, 60, 190)]
    ):
        path = tmp_path / f"p{index}.jpg"
        path.write_bytes(jpeg(colour))
        paths.append(path)
    embedded = embed_files(scorer, paths)
    gallery.add(
        [Reference("opium_poppy", s, group=f"g{i % 2}") for i, s in enumerate(embedded.sha256)],
        embedded.embeddings,
    )
    gallery.save(registry.gallery_path(scorer.identity["sha256"]))
    assert holder.sync() is True
    loaded = holder.current()
    assert loaded.scorer.gallery is not None and loaded.describe()["gallery"]["references"] == 4
    score = loaded.scorer.score_image(loaded.scorer.read(jpeg((152, 48, 201))))
    assert score.species_score("opium_poppy").source == "gallery"
    holder.promote("1.1.0")  # the other bundle has no gallery: it must not inherit this one
    assert holder.current().scorer.gallery is None


def test_update_gallery_saves_next_to_the_bundle_and_swaps(registry: Registry, tmp_path) -> None:
    registry.promote("1.0.0")
    holder = ModelHolder(registry, make_scorer)
    holder.sync()
    paths = []
    for index, colour in enumerate([(150, 50, 200), (160, 40, 210), (145, 55, 195)]):
        path = tmp_path / f"q{index}.jpg"
        path.write_bytes(jpeg(colour))
        paths.append(path)

    def change(gallery: Gallery, scorer: Scorer) -> int:
        embedded = embed_files(scorer, paths)
        refs = [Reference("opium_poppy", s, group=f"g{i}") for i, s in enumerate(embedded.sha256)]
        return gallery.add(refs, embedded.embeddings)

    before = holder.current()
    loaded, added = holder.update_gallery(change)
    assert added == 3 and loaded is holder.current() and loaded is not before
    assert before.scorer.gallery is None  # the old Loaded was not mutated under requests
    path = registry.gallery_path(loaded.identity["sha256"])
    assert Gallery.load(path).labels == {"opium_poppy": 3}
    assert holder.sync() is False  # the watcher sees its own save as current


def test_watcher_thread_starts_and_stops(registry: Registry) -> None:
    registry.promote("1.0.0")
    holder = ModelHolder(registry, make_scorer)
    holder.sync()
    holder.watch(interval_s=0.01)
    holder.close()
    assert holder._watcher is None


def test_a_broken_pointer_is_not_reloaded_again_and_again(registry: Registry) -> None:
    registry.promote("1.0.0")
    loads = {"n": 0}

    def counting(bundle) -> Scorer:
        loads["n"] += 1
        if bundle.version == "1.1.0":
            raise RuntimeError("cannot create the session")
        return make_scorer(bundle)

    holder = ModelHolder(registry, counting)
    holder.sync()
    Registry(registry.root).promote("1.1.0")  # promoted from a shell; this process cannot load it
    with pytest.raises(RuntimeError):
        holder.sync()
    before = loads["n"]
    assert holder.sync() is False and holder.sync() is False  # the watcher keeps quiet
    assert loads["n"] == before
    assert holder.current().identity["sha256"] == load_bundle(registry.find("1.0.0").path).sha256
    Registry(registry.root).promote("1.0.0")  # the pointer changed: it is looked at again
    assert holder.sync() is False  # already serving 1.0.0


def test_an_unchanged_pointer_costs_no_bundle_load(registry: Registry, monkeypatch) -> None:
    """The watcher polls every few seconds: it must not hash a 13 MB network each time."""
    registry.promote("1.0.0")
    holder = ModelHolder(registry, make_scorer)
    holder.sync()
    calls = {"n": 0}
    original = registry.current

    def counted():
        calls["n"] += 1
        return original()

    monkeypatch.setattr(registry, "current", counted)
    for _ in range(5):
        assert holder.sync() is False
    assert calls["n"] == 0
