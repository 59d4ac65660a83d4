"""``plantscout plan …`` and ``plantscout report``: patrol planning from the command line.

Acts on the database the server uses (settings from the environment / ``.env``, as for
``plantscout targets import``), with the rights of an office administrator; changes are
audited under the actor "plantscout (command line)". Heavy imports happen inside commands.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

import click

from .cli import _database, _settings

KINDS = ("units", "households", "sites", "history")


def _principal():
    from .keys import Principal
    from .vocab import Role

    return Principal(key_id="cli", name="plantscout (command line)", role=Role.ADMIN, unit=None)


def _knobs(settings):
    from zoneinfo import ZoneInfo

    from .services.planning.coverage import Knobs

    return Knobs(
        resolution=settings.plan_h3_resolution,
        zone=ZoneInfo(settings.camera_timezone),
        site_radius_m=settings.plan_site_radius_m,
        max_accuracy_m=settings.plan_track_max_accuracy_m,
    )


def _fail(exc) -> click.ClickException:
    for detail in getattr(exc, "details", [])[:20]:
        where = detail.get("row") or detail.get("field") or ""
        click.echo(f"  {where}: {detail.get('message')}", err=True)
    return click.ClickException(getattr(exc, "message", str(exc)))


@click.group(name="plan")
def plan_app() -> None:
    """Patrol planning: jurisdiction, history, priorities, plans, coverage, back-test."""


@plan_app.command("import")
@click.argument("kind", type=click.Choice(KINDS))
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--source", default=None, help="history: who surveyed (e.g. county-2023).")
@click.option("--format", "fmt", type=click.Choice(["geojson", "csv"]), default=None)
@click.option("--encoding", default=None, help="utf-8, gbk/gb18030 or utf-16 (default: detect).")
def plan_import(kind: str, file: Path, source: str | None, fmt: str | None, encoding: str | None):
    """Import FILE: unit boundaries, households, sites or history (GeoJSON or CSV).

    Import in that order: households and sites name their unit, sites their household.
    Re-importing a file changes nothing; a bad row rejects the whole file.
    """
    from .errors import APIError
    from .services.planning import history, registry

    if kind == "history" and not source:
        raise click.UsageError("history needs --source (who made the survey)")
    settings = _settings()
    if file.stat().st_size > settings.max_import_bytes:
        raise click.ClickException(f"{file} is larger than {settings.max_import_bytes:,} bytes")
    db = _database(settings)
    data = file.read_bytes()
    try:
        if kind == "history":
            result = history.import_history(
                db, _principal(), source, data, file.name, fmt, encoding
            )
        else:
            importer = {
                "units": registry.import_units,
                "households": registry.import_households,
                "sites": registry.import_sites,
            }[kind]
            result = importer(db, _principal(), data, file.name, fmt, encoding)
    except APIError as exc:
        raise _fail(exc) from exc
    finally:
        db.dispose()
    click.echo(
        f"{result.total} {kind} ({result.encoding}): {result.created} new, "
        f"{result.updated} updated, {result.unchanged} unchanged"
    )


@plan_app.command("priorities")
@click.option("--unit", required=True)
@click.option("--season", type=int, default=None, help="Default: this year.")
@click.option("--top", type=int, default=20, show_default=True, help="Cells to print.")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True)
@click.option(
    "--geojson",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write every ranked cell as GeoJSON.",
)
def plan_priorities(unit: str, season: int | None, top: int, lang: str, geojson: Path | None):
    """Rank UNIT's grid cells for this season, with the reasons (优先巡查网格)."""
    from zoneinfo import ZoneInfo

    from .errors import APIError
    from .services.planning import priorities

    settings = _settings()
    season = season or date.today().year
    db = _database(settings)
    try:
        with db.read() as session:
            result = priorities.priorities(
                session,
                unit,
                season,
                resolution=settings.plan_h3_resolution,
                zone=ZoneInfo(settings.camera_timezone),
            )
    except APIError as exc:
        raise _fail(exc) from exc
    finally:
        db.dispose()
    if result.unit.simulation:
        click.echo("SIMULATION — 模拟数据", err=True)
    click.echo(f"{unit} {season}: {len(result.ranked)} cells, as of {result.as_of}")
    for item in result.ranked[:top]:
        reasons = "; ".join(getattr(r, lang) for r in item.reasons)
        last = item.last_patrolled.isoformat() if item.last_patrolled else "-"
        click.echo(f"{item.rank:>4}  {item.cell}  {item.score:7.3f}  {last:>10}  {reasons}")
    if geojson:
        geojson.write_text(
            json.dumps(priorities.feature_collection(result), ensure_ascii=False), "utf-8"
        )
        click.echo(f"wrote {geojson}", err=True)


def _campaign(value: str) -> dict[str, str]:
    try:
        key, starts, ends = value.split(":")
        date.fromisoformat(starts), date.fromisoformat(ends)
    except ValueError:
        raise click.BadParameter(f"{value!r}: use key:YYYY-MM-DD:YYYY-MM-DD") from None
    kind = {"spring": "prevent", "summer": "eradicate"}.get(key, "other")
    return {"key": key, "kind": kind, "starts_on": starts, "ends_on": ends}


@plan_app.command("draft")
@click.option("--unit", required=True)
@click.option("--season", type=int, required=True)
@click.option(
    "--campaign",
    "campaigns",
    multiple=True,
    required=True,
    help="key:start:end, e.g. spring:2025-02-01:2025-03-31 (repeat).",
)
@click.option("--top-percent", type=float, default=20, show_default=True)
@click.option("--cell-sweeps", type=int, default=2, show_default=True)
@click.option("--offender-sweeps", type=int, default=3, show_default=True)
@click.option(
    "--items",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="JSON list of extra items (kind, ref, campaign, sweeps …).",
)
def plan_draft(unit, season, campaigns, top_percent, cell_sweeps, offender_sweeps, items):
    """Write UNIT's season plan: the top cells by priority and every past offender, swept
    repeatedly in each campaign (replaces the unit's plan for the season)."""
    from zoneinfo import ZoneInfo

    from pydantic import ValidationError

    from .errors import APIError
    from .schemas.planning import PlanIn
    from .services.planning import plans

    settings = _settings()
    try:
        body = PlanIn(
            campaigns=[_campaign(c) for c in campaigns],
            items=json.loads(items.read_text("utf-8")) if items else [],
            fill={
                "top_percent": top_percent,
                "cell_sweeps": cell_sweeps,
                "offender_sweeps": offender_sweeps,
            },
        )
    except (ValidationError, json.JSONDecodeError) as exc:
        raise click.ClickException(f"bad plan: {exc}") from exc
    db = _database(settings)
    try:
        plan, created = plans.put_plan(
            db,
            _principal(),
            unit,
            season,
            body,
            resolution=settings.plan_h3_resolution,
            zone=ZoneInfo(settings.camera_timezone),
        )
    except APIError as exc:
        raise _fail(exc) from exc
    finally:
        db.dispose()
    counts = ", ".join(f"{n} {k}" for k, n in sorted(plan.counts.items()))
    click.echo(
        f"{'created' if created else 'replaced'} plan {unit} {season} v{plan.version}: {counts}"
    )


@plan_app.command("coverage")
@click.option("--unit", required=True)
@click.option("--season", type=int, required=True)
@click.option("--campaign", default=None)
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), default=None)
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), default=None)
@click.option(
    "--geojson",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the coverage map (cells and unvisited sites).",
)
def plan_coverage(unit, season, campaign, since, until, geojson):
    """Planned vs covered cells, sites and households; blind spots; overdue sweeps (覆盖情况)."""
    from .errors import APIError
    from .services.planning import coverage

    settings = _settings()
    db = _database(settings)
    try:
        with db.read() as session:
            computed = coverage.compute(
                session,
                unit,
                season,
                _knobs(settings),
                campaign=campaign,
                since=since.date() if since else None,
                until=until.date() if until else None,
            )
    except APIError as exc:
        raise _fail(exc) from exc
    finally:
        db.dispose()
    r = computed.report
    click.echo(f"{unit} {r.window.since} – {r.window.until} (as of {r.as_of})")
    click.echo(
        f"cells: {r.cells.planned_covered}/{r.cells.planned} planned covered "
        f"({r.cells.planned_share:.0%}); jurisdiction {r.cells.covered}/{r.cells.jurisdiction}"
    )
    click.echo(
        f"sites: {r.sites.covered}/{r.sites.planned}; households: "
        f"{r.households.covered}/{r.households.planned}"
    )
    click.echo(f"blind spots: {len(r.cells.blind_spots)} cells, {len(r.sites.uncovered)} sites")
    click.echo(
        f"overdue repeat sweeps: {r.overdue_sweeps}; targets: {r.targets.on_time} on time, "
        f"{r.targets.late} late, {r.targets.overdue} overdue, {r.targets.pending} pending"
    )
    if geojson:
        geojson.write_text(
            json.dumps(coverage.feature_collection(computed), ensure_ascii=False), "utf-8"
        )
        click.echo(f"wrote {geojson}", err=True)


@plan_app.command("backtest")
@click.option(
    "--year", "years", type=int, multiple=True, help="Test year (repeat; default: last 3)."
)
@click.option("--unit", "units", multiple=True, help="Units (default: all with a boundary).")
@click.option(
    "--simulate",
    "seed",
    type=int,
    default=None,
    help="Run on a SIMULATED county with this seed instead of the database.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def plan_backtest(years, units, seed, as_json):
    """How many of year Y's plantings fell in the top 5/10/20 % of cells ranked with the years
    before Y — against uniform and last-year-only baselines (回测)."""
    from .errors import APIError
    from .services.planning import backtest

    if seed is not None:
        report, title = _simulated_backtest(seed, list(years) or None)
    else:
        from .services.planning.priorities import office_backtest

        settings = _settings()
        db = _database(settings)
        try:
            with db.read() as session:
                report, names, used, simulated = office_backtest(
                    session,
                    resolution=settings.plan_h3_resolution,
                    years=list(years) or None,
                    units=list(units) or None,
                )
        except APIError as exc:
            raise _fail(exc) from exc
        finally:
            db.dispose()
        if not used:
            raise click.ClickException("no year with plantings and an earlier year to rank from")
        title = f"{'SIMULATION — ' if simulated else ''}{len(names)} units, years {used}"
    if as_json:
        click.echo(json.dumps({"title": title, **report.as_dict()}, ensure_ascii=False))
    else:
        click.echo(backtest.format_table(report, title))


def _simulated_backtest(seed: int, years: list[int] | None):
    from .services.planning import backtest, simulate

    county = simulate.simulate(simulate.SimConfig(seed=seed))
    grids, history, offenders = simulate.backtest_inputs(county, 9)
    years = years or list(county.config.years[-3:])
    cells = sum(len(g.cells) for g in grids)
    title = f"SIMULATION (seed {seed}): {len(county.units)} units, {cells} cells, years {years}"
    return backtest.backtest(grids, history, offenders, years), title


@plan_app.command("simulate")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option("--seed", type=int, default=0, show_default=True)
def plan_simulate(out: Path, seed: int):
    """Write a SIMULATED county (boundaries, households, sites, 6 years of history) as import
    files, to try the workflow. Not real data: every file says so."""
    from .services.planning import simulate

    county = simulate.simulate(simulate.SimConfig(seed=seed))
    paths = simulate.write_files(county, out)
    for kind, path in paths.items():
        click.echo(f"{kind}: {path}")
    click.echo(simulate.NOTICE, err=True)


@click.command(name="report")
@click.option("--unit", "units", multiple=True, help="Units (default: every unit).")
@click.option("--month", default=None, help="YYYY-MM")
@click.option("--week", type=click.DateTime(["%Y-%m-%d"]), default=None, help="Any day in it.")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), default=None)
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), default=None)
@click.option("--campaign", default=None)
@click.option("--season", type=int, default=None)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="report.xlsx, or a .csv for one table (see --table).",
)
@click.option(
    "--table",
    type=click.Choice(["summary", "species", "households"]),
    default="summary",
    show_default=True,
)
def report_app(units, month, week, since, until, campaign, season, out: Path, table: str):
    """The period report upward (工作报表): XLSX with one sheet per table, or one CSV table."""
    from .errors import APIError
    from .services.planning import report, report_files

    settings = _settings()
    db = _database(settings)
    try:
        with db.read() as session:
            result = report.build(
                session,
                None,
                list(units),
                since=since.date() if since else None,
                until=until.date() if until else None,
                week=week.date() if week else None,
                month=month,
                campaign=campaign,
                season=season,
                knobs=_knobs(settings),
            )
    except APIError as exc:
        raise _fail(exc) from exc
    finally:
        db.dispose()
    if out.suffix.lower() == ".csv":
        out.write_text(report_files.csv_table(result, table), "utf-8")
    else:
        out.write_bytes(report_files.xlsx(result))
    click.echo(f"{result.title}: {len(result.units)} units -> {out}")
    if table == "households" or out.suffix.lower() != ".csv":
        click.echo("contains personal data (households): for the unit and reviewers only", err=True)
    sys.stdout.flush()
