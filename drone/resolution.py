"""Which ground resolution a frame is scanned at, and whether it is scanned at all.

A bundle's card says at which ground resolutions (GSD, metres per pixel) its tile model was
trained (``tiles.gsd_m``: one number, or a list for a multi-resolution model), and may say
the coarsest frame it vouches for (``tiles.max_gsd_m``) and how to run a coarse-to-fine
scan (``tiles.cascade``: the coarse resolution and, per coarse resolution, the score below
which a coarse tile is not looked at again at full resolution). All three are optional and
additive, so a card without them scans exactly as before.

* **Fine resolution** (a full scan, and the second pass of a cascade): the finest served
  resolution not finer than the frame — a 2.3 cm/px frame is scanned at 3 cm/px, shrinking
  it a little, never enlarging it — or, for a frame coarser than every served resolution,
  the coarsest one (enlarged up to ``max_upsample``).
* **Refusal**: a frame coarser than ``tiles.max_gsd_m`` (or, without it, than the coarsest
  served resolution × ``max_upsample``) is not scanned, with the reason.
* **Coarse resolution** (a cascade's first pass): the card's ``cascade.coarse_gsd_m`` if it is
  at least :data:`MIN_CASCADE_RATIO` × the fine one, else the coarsest served resolution if
  that is; otherwise a cascade would save too little and the frame is scanned in full.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MIN_CASCADE_RATIO = 1.5  # coarse / fine ground resolution below which a cascade saves too little
SNAP = 0.98  # a frame within 2 % of a served resolution is scanned at it


@dataclass(frozen=True)
class Resolutions:
    served: tuple[float, ...] = ()  # m/px, finest first
    max_gsd_m: float | None = None
    coarse_gsd_m: float | None = None
    thresholds: dict[float, float] = field(default_factory=dict)  # coarse m/px -> score

    @property
    def multi(self) -> bool:
        return len(self.served) > 1


def card_resolutions(extra: dict[str, Any]) -> Resolutions:
    """Read ``tiles`` (or the older ``drone``) section of a card's extra fields."""
    for key in ("tiles", "drone"):
        section = extra.get(key)
        if not isinstance(section, dict):
            continue
        raw = section.get("gsd_m")
        values = raw if isinstance(raw, list) else [raw]
        served = tuple(sorted(float(v) for v in values if _positive(v)))
        if not served:
            continue
        cascade = section.get("cascade") if isinstance(section.get("cascade"), dict) else {}
        thresholds = {
            float(k): float(v)
            for k, v in (cascade.get("thresholds") or {}).items()
            if _positive(_float(k)) and isinstance(v, int | float) and 0 <= v <= 1
        }
        return Resolutions(
            served=served,
            max_gsd_m=float(section["max_gsd_m"]) if _positive(section.get("max_gsd_m")) else None,
            coarse_gsd_m=float(cascade["coarse_gsd_m"])
            if _positive(cascade.get("coarse_gsd_m"))
            else None,
            thresholds=thresholds,
        )
    return Resolutions()


def fine_gsd(frame_gsd_m: float | None, res: Resolutions, forced: float | None) -> float | None:
    """The resolution tiles are scored at (see the module docstring)."""
    if forced:
        return forced
    if not res.served:
        return None
    if frame_gsd_m is None:
        return res.served[0]
    candidates = [s for s in res.served if s >= frame_gsd_m * SNAP]
    return min(candidates) if candidates else res.served[-1]


def scan_limit(res: Resolutions, forced: float | None, max_upsample: float) -> float | None:
    """The coarsest frame resolution that is scanned."""
    if forced:
        return forced * max_upsample
    if res.max_gsd_m:
        return res.max_gsd_m
    return res.served[-1] * max_upsample if res.served else None


def coarse_gsd(
    fine_m: float, res: Resolutions, forced: float | None, threshold: float | None
) -> tuple[float | None, float | None, str]:
    """(coarse resolution, threshold, why not) for a cascade whose fine pass is ``fine_m``."""
    choices = [forced] if forced else [res.coarse_gsd_m, res.served[-1] if res.served else None]
    for coarse in choices:
        if coarse and coarse >= MIN_CASCADE_RATIO * fine_m * SNAP:
            cut = threshold if threshold is not None else _threshold_for(coarse, res)
            if cut is None:
                return (
                    None,
                    None,
                    (f"the bundle's card gives no cascade threshold at {coarse * 100:g} cm/px"),
                )
            return coarse, cut, ""
    best = max((c for c in choices if c), default=None)
    if best is None:
        return None, None, "the bundle serves one resolution only"
    return (
        None,
        None,
        (
            f"the coarsest resolution ({best * 100:g} cm/px) is less than "
            f"{MIN_CASCADE_RATIO:g}× the fine one ({fine_m * 100:g} cm/px): too little to save"
        ),
    )


def _threshold_for(coarse: float, res: Resolutions) -> float | None:
    for key, value in res.thresholds.items():
        if abs(key - coarse) <= 1e-6:
            return value
    return None


def _float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _positive(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0
