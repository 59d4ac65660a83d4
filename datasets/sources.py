"""Source description files (``datasets/sources/*.toml``): provenance a manifest lacks.

Each file lists the repositories a dataset came from (URL, commit, licence, label mapping)
so a user without ``../shared`` can rebuild it, and the ground resolution of drone frames per
group, which the builder needs to cut tiles at a common resolution.
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .records import Record


@dataclass(frozen=True)
class SourceInfo:
    name: str
    sources: tuple[dict[str, Any], ...] = ()
    drone_gsd_m: dict[str, float] = field(default_factory=dict)

    def source(self, repo: str) -> dict[str, Any] | None:
        return next((s for s in self.sources if s.get("repo") == repo), None)


def load_sources(path: str | Path) -> SourceInfo:
    data = tomllib.loads(Path(path).read_text("utf-8"))
    gsd = {str(k): float(v) for k, v in (data.get("drone", {}).get("gsd_m", {}) or {}).items()}
    return SourceInfo(
        name=str(data.get("name", Path(path).stem)),
        sources=tuple(data.get("source", [])),
        drone_gsd_m=gsd,
    )


def apply_sources(records: Sequence[Record], infos: Sequence[SourceInfo]) -> list[Record]:
    """Fill drone frames' missing ``gsd_m`` from the sources files (by group)."""
    gsd: dict[str, float] = {}
    for info in infos:
        gsd.update(info.drone_gsd_m)
    out = []
    for record in records:
        if record.kind == "drone_frame" and record.gsd_m is None and record.group in gsd:
            record = record.with_(gsd_m=gsd[record.group])
        out.append(record)
    return out


def undescribed_sources(records: Sequence[Record], infos: Sequence[SourceInfo]) -> list[str]:
    """Sources used by the records that no sources file describes (a provenance gap)."""
    described = {s.get("repo") for info in infos for s in info.sources}
    return sorted({r.source for r in records if r.source and r.source not in described})
