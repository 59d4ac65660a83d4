"""The served bundle in the form a phone runs offline: its network, its card and the decision
graph generated from the card (:mod:`.decision_graph`), each named by sha256.

The graph is generated once per bundle (a few milliseconds; the familiarity references are
most of its bytes) and kept while that bundle is served; a promote or reload serves another
bundle, whose sha256 differs, so phones fetch the new files and drop the old ones.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from plantscout.model.bundle import Bundle

from .decision_graph import build_decision_graph, legend, read_references


@dataclass(frozen=True)
class OnDevice:
    """What the page downloads for one bundle."""

    identity: dict[str, str]
    card: dict[str, Any]
    legend: dict[str, Any]
    network_path: Path
    network_sha256: str
    network_bytes: int
    decision: bytes
    decision_sha256: str

    def describe(self) -> dict[str, Any]:
        """The ``GET /v1/model/card`` body: the card, the legend and where the files are."""
        return {
            "model": self.identity,
            "card": self.card,
            "legend": self.legend,
            "files": {
                "network": {
                    "url": f"/v1/model/onnx?sha256={self.network_sha256}",
                    "sha256": self.network_sha256,
                    "bytes": self.network_bytes,
                },
                "decision": {
                    "url": f"/v1/model/decision?sha256={self.decision_sha256}",
                    "sha256": self.decision_sha256,
                    "bytes": len(self.decision),
                },
            },
        }


_lock = threading.Lock()
_cache: dict[tuple[str, str], OnDevice] = {}


def on_device(bundle: Bundle) -> OnDevice:
    """The on-device files of ``bundle``, generated on first use and then kept."""
    key = (str(bundle.path), bundle.sha256)
    with _lock:
        cached = _cache.get(key)
        if cached is not None:
            return cached
        decision = build_decision_graph(bundle.card, read_references(bundle))
        made = OnDevice(
            identity=bundle.identity(),
            card=bundle.card.as_dict(),
            legend=legend(bundle.card),
            network_path=bundle.onnx_path,
            network_sha256=bundle.sha256,
            network_bytes=bundle.onnx_path.stat().st_size,
            decision=decision,
            decision_sha256=hashlib.sha256(decision).hexdigest(),
        )
        if len(_cache) >= 4:  # a long-running service sees a few promotes; keep the latest
            _cache.pop(next(iter(_cache)))
        _cache[key] = made
        return made
