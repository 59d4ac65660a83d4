"""A local registry of model bundles: which one is current, and the way back.

Layout (one folder, by default ``$PLANTSCOUT_REGISTRY`` or ``var/models``)::

    bundles/<name>-<version>-<sha12>/   model.onnx + card.json, copied in and validated
    galleries/<bundle sha256>.npz       the reference gallery used with that bundle (optional)
    CURRENT                             the folder name of the current bundle
    history.jsonl                       every add / promote / rollback, with time and actor

``CURRENT`` is replaced atomically (write a temporary file, fsync, rename), so a service
polling it reads either the old name or the new one, never half of either. Changes take an
exclusive lock on ``.lock`` so two trainers promoting at once cannot interleave. Rollback
replays the history as a stack of promotions and returns to the one before the current.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .. import environment
from ..bundle import CARD_FILE, ONNX_FILE, Bundle, load_bundle
from ..errors import BundleError, PlantscoutError

DEFAULT_ROOT = Path("var") / "models"
POINTER = "CURRENT"
HISTORY = "history.jsonl"


class RegistryError(PlantscoutError):
    code = "registry_error"


@dataclass(frozen=True)
class Entry:
    """One registered bundle."""

    key: str  # folder name under bundles/: what `promote` and `rollback` talk about
    path: Path
    bundle: Bundle

    @property
    def identity(self) -> dict[str, str]:
        return self.bundle.identity()

    def card_summary(self) -> dict[str, Any]:
        """What `plantscout model list` shows: enough to choose, not the whole card."""
        card = self.bundle.card
        extra = card.extra
        return {
            "key": self.key,
            "name": card.name,
            "version": card.version,
            "created": card.created,
            "sha256": card.onnx_sha256,
            "architecture": card.architecture,
            "labels": list(card.label_keys),
            "untrained_controlled": list(card.untrained_controlled),
            "metrics": extra.get("metrics"),
            "training": {
                k: v
                for k, v in (extra.get("training") or {}).items()
                if k in ("manifest_hash", "dataset", "config", "mode", "backbone")
            }
            or None,
            "limitations": [t.en for t in card.limitations],
        }


class Registry:
    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self.root = Path(root or environment.REGISTRY.get() or DEFAULT_ROOT).resolve()

    @property
    def bundles_dir(self) -> Path:
        return self.root / "bundles"

    @property
    def pointer(self) -> Path:
        return self.root / POINTER

    # -- reading -----------------------------------------------------------------------------
    def entries(self) -> list[Entry]:
        return self._scan()[0]

    def damaged(self) -> dict[str, str]:
        """Registered folders that no longer load (edited card, replaced ONNX file)."""
        return self._scan()[1]

    def _scan(self) -> tuple[list[Entry], dict[str, str]]:
        if not self.bundles_dir.is_dir():
            return [], {}
        good, bad = [], {}
        for folder in sorted(p for p in self.bundles_dir.iterdir() if p.is_dir()):
            if folder.name.startswith("."):
                continue  # a copy in progress
            try:
                good.append(Entry(folder.name, folder, load_bundle(folder, check_onnx=False)))
            except BundleError as exc:  # a damaged folder must not hide the others
                bad[folder.name] = exc.message
        return good, bad

    def find(self, version: str) -> Entry:
        """By folder name, by ``name-version``/version, or by sha256 prefix (6+ characters)."""
        entries = self.entries()
        exact = [e for e in entries if e.key == version]
        if exact:
            return exact[0]
        matches = [
            e
            for e in entries
            if version in (e.bundle.version, f"{e.bundle.name}-{e.bundle.version}")
            or (len(version) >= 6 and e.bundle.sha256.startswith(version.lower()))
        ]
        if len(matches) == 1:
            return matches[0]
        known = ", ".join(e.key for e in entries) or "none"
        for key, problem in self.damaged().items():
            if version == key or (not matches and version in key):
                raise RegistryError(f"bundle {key} is damaged and cannot be used: {problem}")
        if not matches:
            raise RegistryError(f"no bundle {version!r} in {self.root} (registered: {known})")
        raise RegistryError(
            f"{version!r} is ambiguous: {', '.join(e.key for e in matches)}; use the full name"
        )

    def current_key(self) -> str | None:
        try:
            return self.pointer.read_text("utf-8").strip() or None
        except FileNotFoundError:
            return None

    def current(self) -> Entry | None:
        key = self.current_key()
        if key is None:
            return None
        folder = self.bundles_dir / key
        try:
            return Entry(key, folder, load_bundle(folder, check_onnx=False))
        except BundleError as exc:
            raise RegistryError(
                f"{self.pointer} names {key!r}, which is not usable: {exc.message}"
            ) from exc

    def history(self) -> list[dict[str, Any]]:
        path = self.root / HISTORY
        if not path.is_file():
            return []
        events = []
        for line in path.read_text("utf-8").splitlines():
            with contextlib.suppress(json.JSONDecodeError):  # a torn last line from a crash
                events.append(json.loads(line))
        return events

    def gallery_path(self, bundle_sha256: str) -> Path:
        return self.root / "galleries" / f"{bundle_sha256}.npz"

    # -- changing ------------------------------------------------------------------------------
    def add(self, bundle_dir: str | os.PathLike[str], *, actor: str = "") -> Entry:
        """Copy a bundle in (validated, ONNX graph checked). Adding it twice is a no-op."""
        bundle = load_bundle(bundle_dir)
        key = _key(bundle)
        target = self.bundles_dir / key
        with self._locked():
            if target.is_dir():
                existing = load_bundle(target, check_onnx=False)
                if existing.sha256 != bundle.sha256:  # pragma: no cover - the key holds sha12
                    raise RegistryError(f"{key} is already registered with another network")
                return Entry(key, target, existing)
            staging = self.bundles_dir / f".{key}.tmp"
            shutil.rmtree(staging, ignore_errors=True)
            staging.mkdir(parents=True)
            for name in (ONNX_FILE, CARD_FILE):
                shutil.copy2(bundle.path / name, staging / name)
            for extra in bundle.path.iterdir():  # reports, plots: part of the card's evidence
                if extra.name not in (ONNX_FILE, CARD_FILE) and extra.is_file():
                    shutil.copy2(extra, staging / extra.name)
            os.replace(staging, target)
            self._log({"action": "add", "key": key, "sha256": bundle.sha256, "actor": actor})
        return Entry(key, target, load_bundle(target, check_onnx=False))

    def promote(self, version: str, *, actor: str = "", note: str = "") -> Entry:
        """Make ``version`` current."""
        with self._locked():
            entry = self.find(version)
            load_bundle(entry.path)  # the graph must open before anyone is pointed at it
            previous = self.current_key()
            self._write_pointer(entry.key)
            self._log(
                {
                    "action": "promote",
                    "key": entry.key,
                    "previous": previous,
                    "sha256": entry.bundle.sha256,
                    "actor": actor,
                    "note": note,
                }
            )
        return entry

    def rollback_target(self) -> Entry:
        stack = self._stack()
        if len(stack) < 2:
            raise RegistryError("nothing to roll back to: fewer than two promotions on record")
        return self.find(stack[-2])

    def rollback(self, *, actor: str = "", note: str = "") -> Entry:
        """Return to the bundle that was current before the current one."""
        with self._locked():
            target = self.rollback_target()
            load_bundle(target.path)
            previous = self.current_key()
            self._write_pointer(target.key)
            self._log(
                {
                    "action": "rollback",
                    "key": target.key,
                    "previous": previous,
                    "sha256": target.bundle.sha256,
                    "actor": actor,
                    "note": note,
                }
            )
        return target

    # -- internals -------------------------------------------------------------------------------
    def _stack(self) -> list[str]:
        stack: list[str] = []
        for event in self.history():
            if event.get("action") == "promote":
                if not stack or stack[-1] != event["key"]:
                    stack.append(event["key"])
            elif event.get("action") == "rollback" and stack:
                stack.pop()
                if not stack or stack[-1] != event["key"]:
                    stack.append(event["key"])
        return stack

    def _write_pointer(self, key: str) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.pointer.with_name(f".{POINTER}.{os.getpid()}.tmp")
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(key + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.pointer)

    def _log(self, event: dict[str, Any]) -> None:
        event = {"time": datetime.now(UTC).isoformat(timespec="milliseconds"), **event}
        path = self.root / HISTORY
        torn = path.is_file() and path.stat().st_size and not path.read_bytes().endswith(b"\n")
        with open(path, "a", encoding="utf-8") as handle:
            # After a crash mid-write, start a new line so this event is not glued to the
            # torn one (and lost with it).
            handle.write(("\n" if torn else "") + json.dumps(event, ensure_ascii=False) + "\n")
            handle.flush()
            os.fsync(handle.fileno())

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "a+") as handle:
            try:
                import fcntl
            except ImportError:  # pragma: no cover - Windows: single-writer by convention
                yield
                return
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _key(bundle: Bundle) -> str:
    safe = "".join(
        c if c.isalnum() or c in "-._" else "_" for c in f"{bundle.name}-{bundle.version}"
    )
    return f"{safe}-{bundle.sha256[:12]}"
