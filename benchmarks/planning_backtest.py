"""Back-test of the patrol-priority ranking on SIMULATED counties (issue 14).

    python benchmarks/planning_backtest.py [--seeds 0 1 2 3 4] [--resolution 9]

For each seed, the simulator (``plantscout.serve.services.planning.simulate``, default
config: 12 units of ~4 × 4 km, 40 households each, plantings 2019–2024) makes a county; the
back-test ranks each unit's H3 cells for year Y using only the years before Y, for the last
three years, and measures the share of year-Y plantings inside the top 5 / 10 / 20 % of
cells — for the priority score and for two baselines run on the same county in the same run:
uniform (no information) and "last year's points only". Ratios are capture ÷ baseline.

SIMULATION: the simulator was written by the same hand as the score, so this checks that
the ranking picks up the structure the simulator puts in (recurrence, borders, offenders),
not that it works in a real county. ``plantscout plan backtest`` runs the same measure on an
office's own history.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from datetime import UTC, datetime

from plantscout.serve.services.planning import backtest, simulate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--resolution", type=int, default=9)
    args = parser.parse_args()

    print("SIMULATION — simulated counties, not real data")
    print(
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC · {platform.machine()} · "
        f"{os.cpu_count()} CPUs · Python {platform.python_version()} · "
        f"load {os.getloadavg()[0]:.2f}"
    )
    pooled = {m: {f: backtest.Capture() for f in backtest.FRACTIONS} for m in backtest.METHODS}
    per_seed = {m: {f: [] for f in backtest.FRACTIONS} for m in backtest.METHODS}
    for seed in args.seeds:
        started = time.perf_counter()
        county = simulate.simulate(simulate.SimConfig(seed=seed))
        grids, history, offenders = simulate.backtest_inputs(county, args.resolution)
        years = list(county.config.years[-3:])
        report = backtest.backtest(grids, history, offenders, years)
        seconds = time.perf_counter() - started
        cells = sum(len(g.cells) for g in grids)
        print()
        print(
            backtest.format_table(
                report,
                f"seed {seed}: {len(grids)} units, {cells} cells, {len(county.history)} history "
                f"points ({seconds:.1f} s to simulate and back-test)",
            )
        )
        for m in backtest.METHODS:
            for f in backtest.FRACTIONS:
                c = report.pooled(m, f)
                pooled[m][f].captured += c.captured
                pooled[m][f].points += c.points
                per_seed[m][f].append(c.share)

    print()
    print(f"**All {len(args.seeds)} seeds pooled** (per-seed range in brackets)")
    print()
    print(
        "| top cells | priority | last year only | uniform | priority ÷ last year | priority ÷ uniform |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    for f in backtest.FRACTIONS:
        share = {m: pooled[m][f].share for m in backtest.METHODS}
        spread = {
            m: f"[{min(per_seed[m][f]):.1%}–{max(per_seed[m][f]):.1%}]" for m in backtest.METHODS
        }
        print(
            f"| {f:.0%} | {share['priority']:.1%} {spread['priority']} | "
            f"{share['last_year']:.1%} {spread['last_year']} | {share['uniform']:.1%} | "
            f"×{share['priority'] / share['last_year']:.2f} | "
            f"×{share['priority'] / share['uniform']:.2f} |"
        )
    points = pooled["priority"][backtest.FRACTIONS[0]].points
    print(f"\n{points} year-Y plantings in unit cells over {len(args.seeds)} seeds × 3 years")


if __name__ == "__main__":
    main()
