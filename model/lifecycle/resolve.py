"""Which bundle? One answer, in one order, for every command and the service.

1. **explicit**: ``--model DIR`` on ``plantscout score | scan | gallery | model which``;
2. **the registry's current bundle**, the one ``plantscout model promote`` chose. The registry
   folder is ``--registry``, else ``$PLANTSCOUT_REGISTRY``, else ``var/models`` for commands;
   ``$PLANTSCOUT_REGISTRY``, else ``<data_dir>/models`` for the service (the same folder with
   the default ``data_dir``);
3. **the configured bundle**: ``$PLANTSCOUT_MODEL`` (the service reads its ``MODEL_PATH``
   setting first: ``$PLANTSCOUT_MODEL_PATH`` or ``model_path`` in ``.env``);
4. **the released default** named in ``model/releases/DEFAULT``.

So after ``plantscout model promote X`` every command and the running service use X until told
otherwise with ``--model``. ``load_bundle(None)`` in :mod:`plantscout.model.bundle` is steps 3-4
only: the library's answer for a caller that knows no registry.

A choice is a path, not a loaded bundle: whoever scores loads it once (hashing and opening an
ONNX graph is the expensive part, and the service must do it exactly once at start).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from .. import environment
from ..bundle import default_bundle_path
from .registry import Registry

Source = Literal["explicit", "registry", "setting", "environment", "default"]


@dataclass(frozen=True)
class BundleChoice:
    """A bundle directory and the step of the order that chose it."""

    path: Path
    source: Source
    key: str | None = None  # the registry folder name, when the registry chose it

    def describe(self) -> str:
        if self.source == "registry":
            return f"{self.path} (the registry's current bundle {self.key})"
        why = {
            "explicit": "--model",
            "setting": "the service's MODEL_PATH setting",
            "environment": f"${environment.MODEL.name}",
            "default": "the released default",
        }[self.source]
        return f"{self.path} ({why})"


def bundle_candidates(
    explicit: str | os.PathLike[str] | None = None,
    *,
    registry: Registry | None = None,
    setting: str | os.PathLike[str] | None = None,
) -> Iterator[BundleChoice]:
    """Every applicable step of the order, first to last (see the module docstring).

    An explicit bundle is the only candidate. The service walks on past a registry bundle
    that fails to load (it keeps serving the next one and says why); commands take the first.
    """
    if explicit is not None:
        yield BundleChoice(_absolute(explicit), "explicit")
        return
    registry = registry if registry is not None else Registry()
    key = registry.current_key()
    if key is not None:
        yield BundleChoice(registry.bundles_dir / key, "registry", key)
    configured = environment.MODEL.get()
    if setting is not None:
        yield BundleChoice(_absolute(setting), "setting")
    elif configured is not None:
        yield BundleChoice(_absolute(configured), "environment")
    else:
        yield BundleChoice(default_bundle_path(), "default")


def resolve_bundle(
    explicit: str | os.PathLike[str] | None = None,
    *,
    registry: Registry | None = None,
    setting: str | os.PathLike[str] | None = None,
) -> BundleChoice:
    """The bundle to use: the first step of the order that names one.

    Raises :class:`~plantscout.model.errors.NoDefaultModel` when no step does.
    """
    return next(bundle_candidates(explicit, registry=registry, setting=setting))


def _absolute(path: str | os.PathLike[str]) -> Path:
    return Path(path).expanduser().resolve()
