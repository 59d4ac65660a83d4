"""Back-test of the priority ranking: would it have sent patrols where plantings turned up?

For each test year Y, every unit's cells are ranked using only what was known before Y
(history of the years before Y; offender sites with a recorded offence before Y — an
offender flag with no year is left out, since it may come from Y itself). The measure is
the share of year-Y plantings (confirmed or eradicated points) that fall inside the top 5 /
10 / 20 % of each unit's cells, pooled over the units. Two baselines, ranked the same way:

- ``uniform``: no information, every cell alike (captures the fraction of cells, on average);
- ``last_year``: cells ranked by the number of plantings found there in Y−1 only.

Tied cells are broken at random, and the *expected* capture is reported, so no method gains
from the order of cell ids. Points outside every unit's grid are counted apart.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from .grid import UnitGrid
from .scoring import PLANTED, Planting, Weights, score_cells

FRACTIONS = (0.05, 0.10, 0.20)
METHODS = ("priority", "last_year", "uniform")


@dataclass(frozen=True)
class HistoryRecord:
    cell: str
    year: int
    outcome: str


@dataclass(frozen=True)
class OffenderSite:
    cell: str
    years: tuple[int, ...]  # recorded offence years; empty = undated


@dataclass
class Capture:
    captured: float = 0.0
    points: int = 0

    @property
    def share(self) -> float:
        return self.captured / self.points if self.points else 0.0


@dataclass
class YearResult:
    year: int
    cells: int
    points: int
    outside: int
    selected: dict[float, int]  # fraction -> cells selected over all units
    capture: dict[str, dict[float, Capture]] = field(default_factory=dict)


@dataclass
class BacktestReport:
    fractions: tuple[float, ...]
    years: list[YearResult]

    def pooled(self, method: str, fraction: float) -> Capture:
        total = Capture()
        for year in self.years:
            c = year.capture[method][fraction]
            total.captured += c.captured
            total.points += c.points
        return total

    def as_dict(self) -> dict[str, object]:
        return {
            "fractions": list(self.fractions),
            "years": [
                {
                    "year": y.year,
                    "cells": y.cells,
                    "points": y.points,
                    "outside": y.outside,
                    "selected": {str(f): n for f, n in y.selected.items()},
                    "capture": {
                        m: {str(f): round(c.share, 4) for f, c in by.items()}
                        for m, by in y.capture.items()
                    },
                }
                for y in self.years
            ],
            "pooled": {
                m: {
                    str(f): {
                        "share": round(self.pooled(m, f).share, 4),
                        "captured": round(self.pooled(m, f).captured, 2),
                        "points": self.pooled(m, f).points,
                    }
                    for f in self.fractions
                }
                for m in METHODS
            },
        }


def expected_capture(scores: Mapping[str, float], hits: Mapping[str, int], n: int) -> float:
    """Points expected inside the top ``n`` cells when ties are broken at random."""
    groups: dict[float, list[str]] = defaultdict(list)
    for cell, score in scores.items():
        groups[score].append(cell)
    taken, captured = 0, 0.0
    for score in sorted(groups, reverse=True):
        cells = groups[score]
        points = sum(hits.get(c, 0) for c in cells)
        if taken + len(cells) <= n:
            captured += points
            taken += len(cells)
            if taken == n:
                break
        else:
            captured += points * (n - taken) / len(cells)
            break
    return captured


def top_n(n_cells: int, fraction: float) -> int:
    return max(1, round(n_cells * fraction))


def backtest(
    grids: Sequence[UnitGrid],
    history: Sequence[HistoryRecord],
    offenders: Sequence[OffenderSite],
    years: Sequence[int],
    *,
    fractions: Sequence[float] = FRACTIONS,
    weights: Weights = Weights(),
) -> BacktestReport:
    planted = [h for h in history if h.outcome in PLANTED]
    owner = {cell: g.unit for g in grids for cell in g.cells}
    results = []
    for year in years:
        before = [Planting(h.cell, h.year) for h in planted if h.year < year]
        last_year = Counter(h.cell for h in planted if h.year == year - 1)
        actual = [h for h in planted if h.year == year]
        hits = Counter(h.cell for h in actual if h.cell in owner)
        known_offenders = [o.cell for o in offenders if any(y < year for y in o.years)]
        result = YearResult(
            year=year,
            cells=len(owner),
            points=sum(hits.values()),
            outside=len(actual) - sum(hits.values()),
            selected={f: 0 for f in fractions},
            capture={m: {f: Capture() for f in fractions} for m in METHODS},
        )
        for unit_grid in grids:
            cells = {c: unit_grid.border_m.get(c) for c in unit_grid.cells}
            ranked = score_cells(cells, before, known_offenders, season=year, weights=weights)
            by_method = {
                "priority": {s.cell: s.score for s in ranked},
                "last_year": {c: float(last_year.get(c, 0)) for c in cells},
                "uniform": dict.fromkeys(cells, 0.0),
            }
            unit_hits = {c: hits[c] for c in cells if hits.get(c)}
            for fraction in fractions:
                n = top_n(len(cells), fraction)
                result.selected[fraction] += n
                for method, scores in by_method.items():
                    capture = result.capture[method][fraction]
                    capture.captured += expected_capture(scores, unit_hits, n)
                    capture.points += sum(unit_hits.values())
        results.append(result)
    return BacktestReport(fractions=tuple(fractions), years=results)


def format_table(report: BacktestReport, title: str) -> str:
    """A Markdown table: capture at each fraction for each method, per year and pooled."""
    header = "| year | points | " + " | ".join(
        f"{m} top {round(f * 100)} %" for f in report.fractions for m in METHODS
    )
    lines = [f"**{title}**", "", header + " |", "|" + " --- |" * (2 + 3 * len(report.fractions))]
    for y in report.years:
        cells = " | ".join(
            f"{y.capture[m][f].share:.1%}" for f in report.fractions for m in METHODS
        )
        lines.append(f"| {y.year} | {y.points} | {cells} |")
    pooled = " | ".join(
        f"{report.pooled(m, f).share:.1%}" for f in report.fractions for m in METHODS
    )
    total = sum(y.points for y in report.years)
    lines.append(f"| all | {total} | {pooled} |")
    return "\n".join(lines)
