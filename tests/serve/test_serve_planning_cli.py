"""The unit leader's commands (README "Patrol planning"), on SQLite and PostgreSQL."""

from __future__ import annotations

import json

from click.testing import CliRunner
from openpyxl import load_workbook

from plantscout.cli import cli
from plantscout.serve.services.planning import simulate

CONFIG = simulate.SimConfig(seed=5, rows=1, cols=2, households_per_unit=8, years=(2021, 2022, 2023))


def test_the_leader_workflow_from_the_command_line(db_url, tmp_path) -> None:
    env = {"PLANTSCOUT_DATABASE_URL": db_url, "PLANTSCOUT_DATA_DIR": str(tmp_path / "var")}
    runner = CliRunner()

    def run(*args: str, ok: bool = True):
        result = runner.invoke(cli, list(args), env=env)
        assert (result.exit_code == 0) == ok, result.output
        return result.output

    files = simulate.write_files(simulate.simulate(CONFIG), tmp_path / "sim")
    assert "needs --source" in run("plan", "import", "history", str(files["history"]), ok=False)
    bad = tmp_path / "bad.geojson"
    bad.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"name": "x"},
                        "geometry": {
                            "type": "Polygon",
                            "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]],
                        },
                    }
                ],
            }
        )
    )
    assert "Self-intersection" in run("plan", "import", "units", str(bad), ok=False)

    assert "2 units (utf-8): 2 new" in run("plan", "import", "units", str(files["units"]))
    run("plan", "import", "households", str(files["households"]))
    run("plan", "import", "sites", str(files["sites"]))
    out = run("plan", "import", "history", str(files["history"]), "--source", "sim")
    assert "new, 0 updated" in out

    ranked = run(
        "plan",
        "priorities",
        "--unit",
        "SIM-A1",
        "--season",
        "2024",
        "--top",
        "3",
        "--lang",
        "en",
        "--geojson",
        str(tmp_path / "p.geojson"),
    )
    lines = [line for line in ranked.splitlines() if line.strip().startswith(("1 ", "2 ", "3 "))]
    assert len(lines) == 3 and "SIMULATION" in ranked
    layer = json.loads((tmp_path / "p.geojson").read_text("utf-8"))
    assert layer["features"][0]["properties"]["rank"] == 1

    drafted = run(
        "plan",
        "draft",
        "--unit",
        "SIM-A1",
        "--season",
        "2024",
        "--campaign",
        "spring:2024-02-01:2024-03-31",
        "--campaign",
        "summer:2024-04-01:2024-06-30",
        "--top-percent",
        "10",
    )
    assert drafted.startswith("created plan SIM-A1 2024 v1")
    assert "out of order" in run(
        "plan",
        "coverage",
        "--unit",
        "SIM-A1",
        "--season",
        "2024",
        "--since",
        "2024-05-01",
        "--until",
        "2024-04-01",
        ok=False,
    )
    coverage = run(
        "plan", "coverage", "--unit", "SIM-A1", "--season", "2024", "--campaign", "spring"
    )
    assert "blind spots:" in coverage and "0/" in coverage  # nothing patrolled yet

    table = run("plan", "backtest", "--year", "2023")
    assert "SIMULATION" in table and "| 2023 |" in table
    simulated = json.loads(run("plan", "backtest", "--simulate", "1", "--json"))
    assert simulated["title"].startswith("SIMULATION") and len(simulated["years"]) == 3

    out_file = tmp_path / "spring.xlsx"
    run("report", "--campaign", "spring", "--season", "2024", "--out", str(out_file))
    book = load_workbook(out_file)
    # office-wide campaign report: the units whose plan has the campaign (SIM-A1), and a total
    rows = list(book["汇总"].iter_rows(min_row=2, values_only=True))
    assert [r[0] for r in rows] == ["SIM-A1", "合计 (total)"]
