"""The model a running service uses now, swapped atomically on promote / rollback / reload.

A request takes :meth:`ModelHolder.current` once and uses that :class:`Loaded` for all its
work, so a swap never splits a request between two bundles: requests already running finish
on the old scorer (it stays alive while they hold it), new ones get the new scorer, and each
score names the bundle that produced it. Loading (ONNX session creation, gallery calibration)
happens before the swap, outside any lock the request path takes; a bundle that fails to
load is never swapped in and the old one keeps serving.

The holder watches the registry's ``CURRENT`` pointer and the gallery file, so
``plantscout model promote`` run in another process reaches a running service too.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..bundle import Bundle, load_bundle
from ..gallery.gallery import Gallery
from ..gallery.gallery_scoring import GalleryScorer
from ..scorer import Scorer
from .registry import Entry, Registry

log = logging.getLogger("plantscout.model.lifecycle.holder")


@dataclass(frozen=True)
class Loaded:
    """One consistent (bundle, gallery, scorer) triple. Immutable: swapping replaces it."""

    scorer: GalleryScorer
    key: str | None  # registry entry, or None for a bundle loaded outside the registry
    loaded_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    gallery_stamp: tuple[int, int] | None = None  # (mtime_ns, size) of the gallery file read

    @property
    def identity(self) -> dict[str, str]:
        return self.scorer.identity

    def describe(self) -> dict[str, Any]:
        gallery = self.scorer.gallery
        return {
            "key": self.key,
            "model": self.identity,
            "gallery": gallery.identity() if gallery is not None else None,
            "loaded_at": self.loaded_at,
        }


ScorerFactory = Callable[[Bundle], Scorer]


class ModelHolder:
    """Thread-safe holder of the current :class:`Loaded`; see the module docstring."""

    def __init__(
        self,
        registry: Registry,
        make_scorer: ScorerFactory = Scorer,
        *,
        initial: Loaded | None = None,
        on_swap: Callable[[Loaded], None] | None = None,
    ) -> None:
        self.registry = registry
        self._make_scorer = make_scorer
        self._on_swap = on_swap
        self._current = initial
        self._change = threading.Lock()  # one load/swap at a time; never taken by requests
        self._watcher: threading.Thread | None = None
        self._stop = threading.Event()
        self._failed_key: str | None = None

    # -- the request path ---------------------------------------------------------------------
    def current(self) -> Loaded:
        """The loaded model now. Reading one attribute is atomic: no lock on this path."""
        loaded = self._current
        if loaded is None:
            raise LookupError("no model is loaded")
        return loaded

    def peek(self) -> Loaded | None:
        """The loaded model, or ``None`` before the first load (no exception)."""
        return self._current

    # -- changes ----------------------------------------------------------------------------------
    def adopt(self, scorer: Scorer, key: str | None = None) -> Loaded:
        """Hold an already-built scorer (the service's start-up model), with its gallery."""
        with self._change:
            return self._swap(self._wrap(scorer, key))

    def sync(self) -> bool:
        """Load the registry's current bundle / changed gallery if they differ from what is held.

        Returns whether a swap happened. Called by the watcher thread and after changes. A
        pointer whose bundle failed to load is not retried until the pointer changes (a
        broken promote must not make the watcher reload a network every few seconds).
        """
        with self._change:
            key = self.registry.current_key()
            held = self._current
            # Reading the pointer is cheap; hashing a bundle is not, so only a pointer that
            # names something other than what is held is looked at more closely.
            if key is not None and key != self._failed_key and (held is None or held.key != key):
                try:
                    entry = self.registry.current()
                    if entry is not None and (
                        held is None or held.identity["sha256"] != entry.bundle.sha256
                    ):
                        self._swap(self._load(entry))
                        return True
                    if entry is not None and held is not None:
                        # Same network under its registry name (e.g. the start-up model).
                        held = self._current = replace(held, key=key)
                except Exception:
                    self._failed_key = key
                    raise
            if held is not None and _stamp(self._gallery_file(held)) != held.gallery_stamp:
                self._swap(self._wrap(held.scorer.scorer, held.key))
                return True
            return False

    def promote(self, version: str, *, actor: str = "", note: str = "") -> Loaded:
        with self._change:
            entry = self.registry.find(version)
            loaded = self._load(entry)  # fails here, before the pointer moves, if unusable
            self.registry.promote(entry.key, actor=actor, note=note)
            return self._swap(loaded)

    def rollback(self, *, actor: str = "", note: str = "") -> Loaded:
        with self._change:
            loaded = self._load(self.registry.rollback_target())
            self.registry.rollback(actor=actor, note=note)
            return self._swap(loaded)

    def update_gallery(self, change: Callable[[Gallery, Scorer], Any]) -> tuple[Loaded, Any]:
        """Apply ``change(gallery, scorer)`` to the held bundle's gallery, save it, swap it in.

        The gallery file lives in the registry next to the bundle it belongs to.
        """
        with self._change:
            held = self.current()
            scorer = held.scorer.scorer
            path = self._gallery_file(held)
            if path.exists():
                gallery = Gallery.load(path)  # a private copy: the held one stays untouched
            else:
                gallery = Gallery.new(
                    scorer.identity, scorer.card.embedding_dim or 0, name="service"
                )
            result = change(gallery, scorer)
            gallery.save(self.registry.gallery_path(scorer.identity["sha256"]))
            return self._swap(self._wrap(scorer, held.key)), result

    # -- watching ----------------------------------------------------------------------------------
    def watch(self, interval_s: float = 2.0) -> None:
        """Poll the registry pointer and gallery file in a daemon thread."""
        if self._watcher is not None:
            return

        def run() -> None:
            while not self._stop.wait(interval_s):
                try:
                    self.sync()
                except Exception:  # noqa: BLE001 - a bad promote must not kill the watcher
                    log.exception("model reload failed; the previous model keeps serving")

        self._watcher = threading.Thread(target=run, name="model-watcher", daemon=True)
        self._watcher.start()

    def close(self) -> None:
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join(timeout=10)
            self._watcher = None

    # -- internals -----------------------------------------------------------------------------
    def _load(self, entry: Entry) -> Loaded:
        return self._wrap(self._make_scorer(load_bundle(entry.path)), entry.key)

    def _gallery_file(self, loaded: Loaded) -> Path:
        return self.registry.gallery_path(loaded.identity["sha256"])

    def _wrap(self, scorer: Scorer, key: str | None) -> Loaded:
        path = self.registry.gallery_path(scorer.identity["sha256"])
        stamp = _stamp(path)
        gallery = Gallery.load(path) if stamp is not None else None
        return Loaded(GalleryScorer(scorer, gallery), key, gallery_stamp=stamp)

    def _swap(self, loaded: Loaded) -> Loaded:
        previous = self._current
        self._current = loaded
        if self._on_swap is not None:
            self._on_swap(loaded)
        log.info(
            "model swapped",
            extra={
                "model": loaded.identity,
                "previous": previous.identity if previous else None,
                "gallery": loaded.scorer.gallery.sha256[:12] if loaded.scorer.gallery else None,
            },
        )
        return loaded


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    return info.st_mtime_ns, info.st_size
