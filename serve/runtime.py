"""The served model's life, owned in one place: the bundle, its swaps, and the scan-job queue.

The app's lifespan calls :meth:`Runtime.start` once the database is open and :meth:`Runtime.stop`
when the service shuts down. Start:

1. resolves the bundle in the one documented order
   (:func:`plantscout.model.lifecycle.resolve.bundle_candidates`: the registry's current
   bundle, else the ``model_path`` setting / ``$PLANTSCOUT_MODEL``, else the released default)
   and loads it **once** into a :class:`ModelHolder`. A registry bundle that fails to load is
   logged and the next step of the order serves; a service without any model stays up, not
   ready (``/readyz`` says why, scoring answers 503);
2. starts the holder's registry watcher (every ``model_watch_s`` seconds), so ``plantscout
   model promote`` run from a shell reaches the running service;
3. starts the scan-job queue. Each job asks the holder for the *current* bundle when it starts,
   so a promote reaches the next job, and every frame of one job is scored by one bundle.

Stop stops the watcher and the queue: a running scan job ends after its current frame and is
parked (queued again, frames done kept), so the next start resumes it without rescanning.

Request handlers read :attr:`Runtime.scoring` once per request; a swap replaces it with one
attribute assignment, so a request is never split between two bundles.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from plantscout.drone.jobs import ScanJobs
from plantscout.model import IntakeLimits, PlantscoutError, Scorer, environment
from plantscout.model.bundle import Bundle
from plantscout.model.lifecycle.holder import Loaded, ModelHolder
from plantscout.model.lifecycle.registry import Registry
from plantscout.model.lifecycle.resolve import bundle_candidates

from .metrics import Metrics
from .scoring import ScoringService
from .settings import Settings

log = logging.getLogger("plantscout.serve.runtime")


class Runtime:
    """Owns the :class:`ModelHolder`, its registry watcher and the :class:`ScanJobs` queue."""

    def __init__(self, settings: Settings, metrics: Metrics) -> None:
        self.settings = settings
        self.metrics = metrics
        self.registry = Registry(environment.REGISTRY.get() or Path(settings.data_dir) / "models")
        self.holder = ModelHolder(self.registry, self._make_scorer, on_swap=self._on_swap)
        self.scoring: ScoringService | None = None  # swapped atomically with the model
        self.model_error: str | None = None
        self._scan_jobs: ScanJobs | None = None

    # -- life ------------------------------------------------------------------------------
    def start(self) -> None:
        self._load_first_model()
        self._scan_jobs = ScanJobs(
            Path(self.settings.data_dir) / "scan-jobs",
            self._current_bundle,
            workers=1,
            threads=max(1, (os.cpu_count() or 1) - 1),  # leave a core for live scoring
            start=self.scoring is not None,  # without a model, jobs wait (see _on_swap)
        )
        if self.settings.model_watch_s > 0:
            self.holder.watch(self.settings.model_watch_s)

    def stop(self) -> None:
        self.holder.close()
        if self._scan_jobs is not None:
            self._scan_jobs.stop(timeout=float(self.settings.graceful_shutdown_s))

    @property
    def scan_jobs(self) -> ScanJobs:
        if self._scan_jobs is None:
            raise RuntimeError("the runtime is not started")
        return self._scan_jobs

    # -- the model ---------------------------------------------------------------------------
    def _load_first_model(self) -> None:
        """The first usable bundle in the order, loaded once; why not, when none is."""
        try:
            for choice in bundle_candidates(
                registry=self.registry, setting=self.settings.model_path
            ):
                try:
                    scorer = self._make_scorer(choice.path)
                except PlantscoutError as exc:
                    if choice.source != "registry":
                        raise
                    log.error(
                        "registry bundle not loaded; using the next in the order",
                        extra={"bundle": choice.describe(), "reason": exc.message},
                    )
                    continue
                self.holder.adopt(scorer, choice.key)
                log.info("model loaded", extra={"bundle": choice.describe()})
                return
        except PlantscoutError as exc:
            self.model_error = exc.message
            log.error("model not loaded", extra={"reason": exc.message})

    def _make_scorer(self, bundle: Bundle | Path) -> Scorer:
        settings = self.settings
        limits = IntakeLimits(
            max_bytes=settings.max_photo_bytes, max_pixels=settings.max_photo_pixels
        )
        return Scorer(bundle, intra_op_threads=settings.model_threads, limits=limits)

    def _on_swap(self, loaded: Loaded) -> None:
        self.scoring = ScoringService(loaded.scorer, self.settings.score_concurrency)  # type: ignore[arg-type]
        self.model_error = None
        self.metrics.set_model(loaded.identity)
        if self._scan_jobs is not None:
            self._scan_jobs.start()  # jobs parked for want of a model run now

    def _current_bundle(self) -> Path:
        """What a scan job starting now scores with: the holder's current bundle."""
        return self.holder.current().scorer.bundle.path
