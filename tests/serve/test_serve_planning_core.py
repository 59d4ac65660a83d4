"""Patrol planning's pure core: boundaries, the H3 grid, scoring, the back-test, the simulator.

No database here; the API tests (test_serve_planning_api.py) run the same code through the service.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import h3
import pytest

from plantscout.serve.geo import GeometryError
from plantscout.serve.services.planning import backtest, grid, scoring, shapes, simulate

SQUARE = {
    "type": "Polygon",
    "coordinates": [
        [[100.80, 22.00], [100.83, 22.00], [100.83, 22.03], [100.80, 22.03], [100.80, 22.00]]
    ],
}
BOW_TIE = {
    "type": "Polygon",
    "coordinates": [
        [[100.80, 22.00], [100.83, 22.03], [100.83, 22.00], [100.80, 22.03], [100.80, 22.00]]
    ],
}


@pytest.fixture(scope="module")
def county() -> simulate.SimCounty:
    return simulate.simulate(simulate.SimConfig(seed=3, rows=2, cols=3, households_per_unit=20))


def _unit_geometry(unit: simulate.SimUnit) -> dict:
    return {"type": "Polygon", "coordinates": [[list(p) for p in unit.polygon.exterior.coords]]}


def test_a_self_intersecting_boundary_is_refused_with_where() -> None:
    with pytest.raises(GeometryError, match=r"Self-intersection at 100\.815000, 22\.015000"):
        shapes.validate_area(BOW_TIE)
    assert shapes.validate_area(SQUARE)["type"] == "Polygon"
    with pytest.raises(GeometryError, match="Polygon or MultiPolygon"):
        shapes.validate_area({"type": "Point", "coordinates": [100.8, 22.0]})


def test_grid_cells_lie_inside_the_unit_and_know_their_border_distance() -> None:
    g = grid.unit_grid("u", SQUARE, None, 9)
    # ~3.1 km × 3.3 km ≈ 10.3 km² of ~0.105 km² cells
    assert 85 <= len(g.cells) <= 110
    shape = shapes.area_shape(SQUARE)
    for cell in g.cells:
        lat, lon = h3.cell_to_latlng(cell)
        assert shape.contains(shapes.Point(lon, lat))
        assert g.border_m[cell] >= 0
    # the cell nearest the middle is ~1.5 km from every side
    middle = h3.latlng_to_cell(22.015, 100.815, 9)
    assert 1300 < g.border_m[middle] < 1700
    assert min(g.border_m.values()) < 250


def test_a_point_village_covers_the_cells_within_its_radius() -> None:
    point = {"type": "Point", "coordinates": [100.8, 22.0]}
    g = grid.unit_grid("v", point, 500.0, 9)
    # π·0.5² km² ≈ 0.785 km² ≈ 7.5 cells of 0.105 km²
    assert 5 <= len(g.cells) <= 11
    with pytest.raises(GeometryError, match="radius"):
        grid.unit_grid("w", point, None, 9)


def test_simulated_units_tile_without_sharing_a_cell(county) -> None:
    grids = [grid.unit_grid(u.name, _unit_geometry(u), None, 9) for u in county.units]
    seen: set[str] = set()
    for g in grids:
        assert not (seen & g.cell_set)
        seen |= g.cell_set
        shapes.validate_area(_unit_geometry(next(u for u in county.units if u.name == g.unit)))
    for a in county.units:
        for b in county.units:
            if a is not b:
                assert shapes.overlap_share(a.polygon, b.polygon) < 1e-6


def test_the_simulator_is_seeded_and_labelled(county, tmp_path) -> None:
    again = simulate.simulate(county.config)
    assert [p.id for p in again.history] == [p.id for p in county.history]
    other = simulate.simulate(simulate.SimConfig(seed=4, rows=2, cols=3, households_per_unit=20))
    assert [p.id for p in other.history] != [p.id for p in county.history]
    assert all(u.name.startswith("SIM-") for u in county.units)
    assert all(h.head_name.startswith("模拟户主") for h in county.households)
    paths = simulate.write_files(county, tmp_path)
    assert "SIMULATION" in paths["notice"].read_text("utf-8")
    units = json.loads(paths["units"].read_text("utf-8"))
    assert all(f["properties"]["simulation"] is True for f in units["features"])
    for name in ("households", "sites", "history"):
        lines = paths[name].read_text("utf-8-sig").splitlines()
        assert lines[0].endswith("simulation") and all(row.endswith("true") for row in lines[1:])
    # plantings recur: some year-Y points lie within 200 m of an earlier planting
    years = county.config.years
    recurring = [p for p in county.points(years[-1]) if p.mechanism == "recur"]
    assert recurring


def test_scoring_ranks_history_recurrence_and_offenders_and_explains_itself() -> None:
    g = grid.unit_grid("u", SQUARE, None, 9)
    cells = {c: g.border_m[c] for c in g.cells}
    middle = h3.latlng_to_cell(22.015, 100.815, 9)
    hot = h3.latlng_to_cell(22.006, 100.823, 9)
    assert hot in cells and middle in cells and h3.grid_distance(hot, middle) > 3
    plantings = [scoring.Planting(hot, 2021), scoring.Planting(hot, 2023)]
    ranked = scoring.score_cells(cells, plantings, [middle], season=2024)
    by_cell = {s.cell: s for s in ranked}
    assert ranked[0].cell == hot and ranked[0].rank == 1
    assert by_cell[hot].features["recurrence"] == 1.0
    codes = [r.code for r in by_cell[hot].reasons]
    assert codes[0] == "history" and "recurrence" in codes
    assert "2021–2023" in by_cell[hot].reasons[0].zh and "2021–2023" in by_cell[hot].reasons[0].en
    # the offender site lifts its cell above plain interior cells
    quiet = [s for s in ranked if s.features["history"] == 0 and s.features["offenders"] == 0]
    assert by_cell[middle].score > max(s.score for s in quiet if g.border_m[s.cell] > 1000)
    assert by_cell[middle].reasons[0].code == "offenders"
    # older plantings weigh less than recent ones
    old = scoring.score_cells(cells, [scoring.Planting(hot, 2016)], [], season=2024)
    new = scoring.score_cells(cells, [scoring.Planting(hot, 2023)], [], season=2024)
    assert {s.cell: s for s in old}[hot].score < {s.cell: s for s in new}[hot].score


def test_staleness_says_never_or_how_long() -> None:
    g = grid.unit_grid("u", SQUARE, None, 9)
    cells = {c: 5000.0 for c in g.cells}  # no border pull, to isolate staleness
    seen = g.cells[0]
    ranked = scoring.score_cells(
        cells, [], [], season=2024, last_patrolled={seen: date(2024, 3, 1)}, as_of=date(2024, 4, 1)
    )
    by_cell = {s.cell: s for s in ranked}
    assert by_cell[seen].reasons[0].en == "not patrolled for 31 days"
    assert by_cell[seen].last_patrolled == date(2024, 3, 1)
    other = by_cell[g.cells[1]]
    assert other.reasons[0].zh == "从未巡查" and other.score > by_cell[seen].score
    assert ranked[-1].cell == seen


def test_expected_capture_breaks_ties_at_random() -> None:
    scores = {"a": 3.0, "b": 1.0, "c": 1.0, "d": 1.0, "e": 0.0}
    hits = {"a": 2, "c": 3, "e": 5}
    assert backtest.expected_capture(scores, hits, 1) == 2
    # one of b, c, d is taken at random: 3 points with probability 1/3
    assert backtest.expected_capture(scores, hits, 2) == pytest.approx(2 + 1.0)
    assert backtest.expected_capture(scores, hits, 4) == pytest.approx(5)
    assert backtest.expected_capture(scores, hits, 5) == pytest.approx(10)
    uniform = dict.fromkeys(scores, 0.0)
    assert backtest.expected_capture(uniform, hits, 2) == pytest.approx(10 * 2 / 5)


def _county_inputs(county: simulate.SimCounty):
    return simulate.backtest_inputs(county, 9)


def test_backtest_beats_uniform_on_the_simulation_and_never_sees_the_test_year(county) -> None:
    grids, history, offenders = _county_inputs(county)
    years = list(county.config.years[-3:])
    report = backtest.backtest(grids, history, offenders, years)
    for fraction in backtest.FRACTIONS:
        uniform = report.pooled("uniform", fraction)
        assert uniform.share == pytest.approx(fraction, abs=0.02)
        assert report.pooled("priority", fraction).share > uniform.share + 0.1
    # every planting is counted: in a unit's cell, or (at the county's edge) outside all
    assert sum(y.points + y.outside for y in report.years) == len(
        [p for p in county.points() if p.year in years]
    )
    # Only the years before Y are used: put every year-Y planting into the cell the ranking
    # liked least. Had the year-Y points leaked into the ranking, that cell would top it.
    year = years[-1]
    first = grids[0]
    before = [
        scoring.Planting(h.cell, h.year)
        for h in history
        if h.year < year and h.outcome in scoring.PLANTED
    ]
    known = [o.cell for o in offenders if any(y < year for y in o.years)]
    ranked = scoring.score_cells(
        {c: first.border_m[c] for c in first.cells}, before, known, season=year
    )
    coldest = ranked[-1].cell
    moved = [
        backtest.HistoryRecord(coldest, h.year, h.outcome) if h.year == year else h for h in history
    ]
    again = backtest.backtest(grids, moved, offenders, [year])
    assert again.years[0].points == ranked_points(history, year) > 0
    assert again.years[0].capture["priority"][0.2].captured == 0
    table = backtest.format_table(report, "SIMULATION")
    assert "| all |" in table and "priority top 5 %" in table


def ranked_points(history, year: int) -> int:
    return sum(1 for h in history if h.year == year and h.outcome in scoring.PLANTED)


def test_walked_cells_fill_the_path_and_ignore_poor_fixes() -> None:
    t0 = datetime(2024, 5, 1, 8, tzinfo=UTC)
    start = (22.0100, 100.8100)
    end = (22.0100, 100.8130)  # ~310 m east
    points = [
        grid.TrackPoint(*start, t0, 5.0),
        grid.TrackPoint(*end, t0 + timedelta(seconds=90), 5.0),
        grid.TrackPoint(22.05, 100.85, t0 + timedelta(seconds=100), 500.0),  # poor fix
    ]
    walked = grid.walked_cells(points, 10, max_accuracy_m=50)
    a, b = h3.latlng_to_cell(*start, 10), h3.latlng_to_cell(*end, 10)
    assert a in walked and b in walked
    assert set(h3.grid_path_cells(a, b)) <= set(walked)
    assert h3.latlng_to_cell(22.05, 100.85, 10) not in walked
    # fixes far apart in time are not joined
    slow = [points[0], grid.TrackPoint(*end, t0 + timedelta(hours=1), 5.0)]
    assert set(grid.walked_cells(slow, 10, max_accuracy_m=50)) == {a, b}
