"""A grid cell's patrol priority for a season, and the reasons for it in Chinese and English.

Pure (h3 only): the service feeds it rows from the database, the back-test feeds it history
cut at a year, the simulator's benchmark feeds it a simulated county. Five features, each a
small number with a plain meaning, weighted and summed:

- ``history``: confirmed plantings in the cell and around it, each weighted by age
  (halved every ``half_life_years``) and by distance (same cell 1, neighbours 0.5, second
  ring 0.2);
- ``recurrence``: the number of *different years* with a planting in the cell or next to it,
  minus one — the same plot planted again is the strongest signal offices report;
- ``border``: exp(−d / ``border_scale_m``) for a cell centre d metres from the unit's border
  (plantings cluster where two units each think the other is responsible);
- ``offenders``: sites of past offenders (households with offences, sites with offences) in
  the cell (1) or next to it (0.5);
- ``staleness``: days since the cell was last patrolled / 365, capped at 1; never = 1.

The weights are set by hand (see ``Weights``), not fitted: the back-test measures them on
an office's own history. Ties are broken by cell id so the ranking is stable.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import date

from . import grid

PLANTED = frozenset({"confirmed", "eradicated"})
RING_WEIGHTS = (1.0, 0.5, 0.2)


@dataclass(frozen=True)
class Weights:
    history: float = 3.0
    recurrence: float = 1.5
    border: float = 1.0
    offenders: float = 1.0
    staleness: float = 0.5
    half_life_years: float = 2.0
    border_scale_m: float = 250.0

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass(frozen=True)
class Planting:
    """A confirmed (or eradicated) planting: where (its cell) and which year."""

    cell: str
    year: int


@dataclass(frozen=True)
class Reason:
    code: str
    contribution: float
    zh: str
    en: str


@dataclass
class CellScore:
    cell: str
    score: float
    features: dict[str, float]
    reasons: list[Reason]
    last_patrolled: date | None
    rank: int = 0
    detail: dict[str, object] = field(default_factory=dict)


@dataclass
class _Acc:
    history: float = 0.0
    points: int = 0
    first_year: int | None = None
    last_year: int | None = None
    years: set[int] = field(default_factory=set)
    offenders: float = 0.0
    offender_sites: int = 0


def _decay(age: int, half_life: float) -> float:
    return 0.5 ** (max(age, 0) / half_life)


def score_cells(
    cells: Mapping[str, float | None],
    plantings: Iterable[Planting],
    offender_cells: Iterable[str],
    *,
    season: int,
    last_patrolled: Mapping[str, date] | None = None,
    as_of: date | None = None,
    weights: Weights = Weights(),
) -> list[CellScore]:
    """Score and rank ``cells`` (cell -> metres to the unit border, or None if unknown).

    Plantings after ``season`` are ignored; the caller passes only what was known at the
    time (the back-test passes the years before Y). ``last_patrolled`` (cell -> last day)
    feeds staleness, measured at ``as_of``; without it (the back-test) staleness is left out.
    """
    acc: dict[str, _Acc] = defaultdict(_Acc)
    wanted = set(cells)
    for planting in plantings:
        if planting.year > season:
            continue
        decay = _decay(season - planting.year, weights.half_life_years)
        for distance, cell in grid.rings(planting.cell, len(RING_WEIGHTS) - 1):
            if cell not in wanted:
                continue
            entry = acc[cell]
            entry.history += decay * RING_WEIGHTS[distance]
            entry.points += 1
            entry.first_year = min(entry.first_year or planting.year, planting.year)
            entry.last_year = max(entry.last_year or planting.year, planting.year)
            if distance <= 1:
                entry.years.add(planting.year)
    for site_cell in offender_cells:
        for distance, cell in grid.rings(site_cell, 1):
            if cell in wanted:
                acc[cell].offenders += RING_WEIGHTS[distance]
                acc[cell].offender_sites += 1
    use_staleness = last_patrolled is not None and as_of is not None
    out = []
    for cell, border_m in cells.items():
        entry = acc.get(cell) or _Acc()
        features = {
            "history": round(entry.history, 4),
            "recurrence": float(max(0, len(entry.years) - 1)),
            "border": round(math.exp(-border_m / weights.border_scale_m), 4)
            if border_m is not None
            else 0.0,
            "offenders": entry.offenders,
            "staleness": 0.0,
        }
        last = (last_patrolled or {}).get(cell)
        idle_days = None
        if use_staleness:
            assert as_of is not None
            idle_days = (as_of - last).days if last is not None else None
            features["staleness"] = (
                1.0 if last is None else round(min(max(idle_days or 0, 0), 365) / 365, 4)
            )
        contributions = {name: getattr(weights, name) * value for name, value in features.items()}
        score = round(sum(contributions.values()), 4)
        reasons = _reasons(contributions, entry, border_m, last, idle_days, use_staleness)
        out.append(CellScore(cell, score, features, reasons, last))
    out.sort(key=lambda s: (-s.score, s.cell))
    for rank, item in enumerate(out, start=1):
        item.rank = rank
    return out


def _reasons(
    contributions: dict[str, float],
    entry: _Acc,
    border_m: float | None,
    last: date | None,
    idle_days: int | None,
    use_staleness: bool,
) -> list[Reason]:
    texts: dict[str, tuple[str, str]] = {}
    if entry.points:
        span = (
            f"{entry.first_year}"
            if entry.first_year == entry.last_year
            else f"{entry.first_year}–{entry.last_year}"
        )
        texts["history"] = (
            f"本格及周边已确认种植 {entry.points} 处（{span} 年）",
            f"{entry.points} confirmed planting(s) in or next to this cell ({span})",
        )
    if len(entry.years) > 1:
        texts["recurrence"] = (
            f"{len(entry.years)} 个不同年份在此复种",
            f"planted here again: {len(entry.years)} different years",
        )
    if border_m is not None:
        metres = int(round(border_m, -1))
        texts["border"] = (f"距单位边界约 {metres} 米", f"about {metres} m from the unit border")
    if entry.offender_sites:
        texts["offenders"] = (
            f"本格及周边有 {entry.offender_sites} 处前科户/前科地块",
            f"{entry.offender_sites} site(s) of past offenders in or next to this cell",
        )
    if use_staleness:
        texts["staleness"] = (
            ("从未巡查", "never patrolled")
            if last is None
            else (f"已 {idle_days} 天未巡查", f"not patrolled for {idle_days} days")
        )
    ranked = sorted((c, name) for name, c in contributions.items() if c > 0 and name in texts)[::-1]
    return [
        Reason(code=name, contribution=round(c, 4), zh=texts[name][0], en=texts[name][1])
        for c, name in ranked[:3]
    ]
