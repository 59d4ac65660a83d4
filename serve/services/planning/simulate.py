"""A SIMULATED county for tests, demos and the back-test benchmark — not real data.

Real planting history is not public, so the priority ranking is exercised on a seeded,
made-up county that has the structure offices describe: plantings are clustered, recur on
the same plots in later years, gather near the borders between units and around the plots
of past offenders and in remote corners, with noise (plantings anywhere, false alarms).
Everything it writes says SIMULATION: unit names start with ``SIM-``, every record carries
``simulation: true``, and personal data is obviously fake (``模拟户主007``, ``SIM-0007``).

What the back-test measures on it is whether the ranking picks up the structure the
simulator put there — a check of the machinery, not evidence about a real county. Only an
office's own history (``plantscout plan backtest``) can say how well it works there.

Pure Python (``random.Random(seed)``): the same seed gives the same county everywhere.
"""

from __future__ import annotations

import csv
import json
import math
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from shapely.geometry import Point, Polygon

from ...geo import EARTH_RADIUS_M

M_PER_DEG = math.radians(1) * EARTH_RADIUS_M
NOTICE = "SIMULATION — made-up data for testing plantscout; not a real place or person"


@dataclass(frozen=True)
class SimConfig:
    seed: int = 0
    years: tuple[int, ...] = (2019, 2020, 2021, 2022, 2023, 2024)
    rows: int = 3
    cols: int = 4
    unit_km: float = 4.0
    origin: tuple[float, float] = (21.90, 100.70)  # lat, lon of the south-west corner
    households_per_unit: int = 40
    offender_share: float = 0.1
    mean_plantings: float = 6.0  # per unit and year, on average over units
    mix: tuple[tuple[str, float], ...] = (
        ("recur", 0.30),
        ("offender", 0.25),
        ("border", 0.20),
        ("remote", 0.10),
        ("noise", 0.15),
    )
    cluster_prob: float = 0.3
    false_alarm_ratio: float = 0.4


@dataclass
class SimUnit:
    name: str
    polygon: Polygon  # lon/lat
    centre: tuple[float, float]  # lat, lon of the village centre
    remote: list[tuple[float, float]]
    rate: float


@dataclass
class SimHousehold:
    id: str
    unit: str
    village_group: str
    head_name: str
    contact: str
    offence_years: list[int] = field(default_factory=list)


@dataclass
class SimSite:
    id: str
    unit: str
    site_type: str
    lat: float
    lon: float
    household: str | None


@dataclass
class SimPoint:
    id: str
    unit: str
    lat: float
    lon: float
    year: int
    observed_on: date
    outcome: str
    species: str
    plants: int | None
    area_m2: float | None
    mechanism: str


@dataclass
class SimCounty:
    config: SimConfig
    units: list[SimUnit]
    households: list[SimHousehold]
    sites: list[SimSite]
    history: list[SimPoint]

    def points(self, year: int | None = None, planted: bool = True) -> list[SimPoint]:
        return [
            p
            for p in self.history
            if (year is None or p.year == year)
            and (not planted or p.outcome in ("confirmed", "eradicated"))
        ]


def _offset(lat: float, lon: float, dx_m: float, dy_m: float) -> tuple[float, float]:
    return (
        lat + dy_m / M_PER_DEG,
        lon + dx_m / (M_PER_DEG * math.cos(math.radians(lat))),
    )


class _Builder:
    def __init__(self, config: SimConfig) -> None:
        self.c = config
        self.rng = random.Random(config.seed)
        lat0, lon0 = config.origin
        self.dlat = config.unit_km * 1000 / M_PER_DEG
        self.dlon = config.unit_km * 1000 / (M_PER_DEG * math.cos(math.radians(lat0)))
        self.lat0, self.lon0 = lat0, lon0

    # -- geometry ------------------------------------------------------------------------

    def _vertices(self) -> dict[tuple[int, int], tuple[float, float]]:
        """Grid corners, interior ones jittered (shared by the units that meet there)."""
        out = {}
        for i in range(self.c.rows + 1):
            for j in range(self.c.cols + 1):
                lat, lon = self.lat0 + i * self.dlat, self.lon0 + j * self.dlon
                if 0 < i < self.c.rows and 0 < j < self.c.cols:
                    lat += self.rng.uniform(-0.2, 0.2) * self.dlat
                    lon += self.rng.uniform(-0.2, 0.2) * self.dlon
                out[(i, j)] = (lon, lat)
        return out

    def _edge(
        self, cache: dict, a: tuple[int, int], b: tuple[int, int], va: tuple, vb: tuple
    ) -> tuple[float, float]:
        """A jittered midpoint of the edge a–b, the same for both units that share it."""
        key = (min(a, b), max(a, b))
        if key not in cache:
            mx, my = (va[0] + vb[0]) / 2, (va[1] + vb[1]) / 2
            boundary_edge = (a[0] == b[0] and a[0] in (0, self.c.rows)) or (
                a[1] == b[1] and a[1] in (0, self.c.cols)
            )
            if not boundary_edge:
                # perpendicular wiggle, a tenth of the side at most
                dx, dy = vb[0] - va[0], vb[1] - va[1]
                t = self.rng.uniform(-0.1, 0.1)
                mx, my = mx - dy * t, my + dx * t
            cache[key] = (mx, my)
        return cache[key]

    def units(self) -> list[SimUnit]:
        corners = self._vertices()
        edges: dict = {}
        units = []
        for i in range(self.c.rows):
            for j in range(self.c.cols):
                ring_keys = [(i, j), (i, j + 1), (i + 1, j + 1), (i + 1, j)]  # counter-clockwise
                ring = []
                for k, key in enumerate(ring_keys):
                    nxt = ring_keys[(k + 1) % 4]
                    ring.append(corners[key])
                    ring.append(self._edge(edges, key, nxt, corners[key], corners[nxt]))
                polygon = Polygon(ring)
                name = f"SIM-{chr(ord('A') + i)}{j + 1}"
                centre = self._inside(polygon, shrink=0.5)
                remote = [self._far_point(polygon, centre) for _ in range(self.rng.randint(1, 2))]
                rate = self.rng.gammavariate(2.0, self.c.mean_plantings / 2.0)
                units.append(SimUnit(name, polygon, centre, remote, rate))
        return units

    def _inside(self, polygon: Polygon, shrink: float = 1.0) -> tuple[float, float]:
        minx, miny, maxx, maxy = polygon.bounds
        cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
        while True:
            x = cx + (self.rng.random() - 0.5) * (maxx - minx) * shrink
            y = cy + (self.rng.random() - 0.5) * (maxy - miny) * shrink
            if polygon.contains(Point(x, y)):
                return y, x

    def _far_point(self, polygon: Polygon, centre: tuple[float, float]) -> tuple[float, float]:
        candidates = [self._inside(polygon) for _ in range(12)]
        return max(candidates, key=lambda p: (p[0] - centre[0]) ** 2 + (p[1] - centre[1]) ** 2)

    def _near(
        self, polygon: Polygon, lat: float, lon: float, sigma_m: float
    ) -> tuple[float, float]:
        for _ in range(30):
            p = _offset(lat, lon, self.rng.gauss(0, sigma_m), self.rng.gauss(0, sigma_m))
            if polygon.contains(Point(p[1], p[0])):
                return p
        return lat, lon

    def _on_border(self, polygon: Polygon) -> tuple[float, float]:
        ring = polygon.exterior
        point = ring.interpolate(self.rng.random(), normalized=True)
        return self._near(polygon, point.y, point.x, 200.0)

    # -- registry ------------------------------------------------------------------------

    def registry(
        self, units: list[SimUnit]
    ) -> tuple[list[SimHousehold], list[SimSite], dict[str, list[SimSite]]]:
        households, sites = [], []
        plots: dict[str, list[SimSite]] = {}
        first_year = self.c.years[0]
        n = 0
        for unit in units:
            for k in range(self.c.households_per_unit):
                n += 1
                household = SimHousehold(
                    id=f"H{n:04d}",
                    unit=unit.name,
                    village_group=f"第{k % 4 + 1}组",
                    head_name=f"模拟户主{n:03d}",
                    contact=f"SIM-{n:04d}",
                )
                if self.rng.random() < self.c.offender_share:
                    household.offence_years = sorted(
                        {first_year - self.rng.randint(1, 4) for _ in range(self.rng.randint(1, 2))}
                    )
                households.append(household)
                lat, lon = self._near(unit.polygon, *unit.centre, 250.0)
                sites.append(
                    SimSite(
                        f"S{len(sites) + 1:05d}", unit.name, "courtyard", lat, lon, household.id
                    )
                )
                own = []
                for _ in range(self.rng.randint(0, 2)):
                    kind = self.rng.choice(("farmland", "farmland", "greenhouse", "remote_plot"))
                    if kind == "remote_plot":
                        base = self.rng.choice(unit.remote)
                        lat, lon = self._near(unit.polygon, *base, 400.0)
                    else:
                        lat, lon = self._near(unit.polygon, *unit.centre, 1200.0)
                    site = SimSite(
                        f"S{len(sites) + 1:05d}", unit.name, kind, lat, lon, household.id
                    )
                    sites.append(site)
                    own.append(site)
                plots[household.id] = own or [sites[-1]]
            for _ in range(3):  # public places: wasteland, rooftops of the township
                lat, lon = self._inside(unit.polygon)
                kind = self.rng.choice(("wasteland", "rooftop", "riverbank"))
                sites.append(SimSite(f"S{len(sites) + 1:05d}", unit.name, kind, lat, lon, None))
        return households, sites, plots

    # -- history -------------------------------------------------------------------------

    def _poisson(self, lam: float) -> int:
        threshold, k, p = math.exp(-lam), 0, 1.0
        while True:
            p *= self.rng.random()
            if p <= threshold:
                return k
            k += 1

    def history(
        self,
        units: list[SimUnit],
        households: list[SimHousehold],
        plots: dict[str, list[SimSite]],
    ) -> list[SimPoint]:
        points: list[SimPoint] = []
        by_unit_households = {u.name: [h for h in households if h.unit == u.name] for u in units}
        mechanisms = [m for m, _ in self.c.mix]
        shares = [w for _, w in self.c.mix]
        for year in self.c.years:
            for unit in units:
                earlier = [p for p in points if p.unit == unit.name and p.outcome != "false_alarm"]
                for _ in range(self._poisson(unit.rate)):
                    mechanism = self.rng.choices(mechanisms, shares)[0]
                    lat, lon, mechanism = self._place(
                        unit, mechanism, earlier, year, by_unit_households[unit.name], plots
                    )
                    cluster = [(lat, lon)]
                    if self.rng.random() < self.c.cluster_prob:
                        for _ in range(self.rng.randint(1, 3)):
                            cluster.append(self._near(unit.polygon, lat, lon, 100.0))
                    for plat, plon in cluster:
                        points.append(self._point(unit, plat, plon, year, mechanism, planted=True))
                for _ in range(self._poisson(unit.rate * self.c.false_alarm_ratio)):
                    lat, lon = self._inside(unit.polygon)
                    points.append(self._point(unit, lat, lon, year, "false_alarm", planted=False))
        return points

    def _place(self, unit, mechanism, earlier, year, households, plots):
        if mechanism == "recur" and earlier:
            weights = [0.6 ** (year - p.year - 1) for p in earlier]
            base = self.rng.choices(earlier, weights)[0]
            return (*self._near(unit.polygon, base.lat, base.lon, 60.0), mechanism)
        offenders = [h for h in households if h.offence_years]
        if mechanism == "offender" and offenders:
            household = self.rng.choice(offenders)
            site = self.rng.choice(plots[household.id])
            if year not in household.offence_years:
                household.offence_years.append(year)
            return (*self._near(unit.polygon, site.lat, site.lon, 50.0), mechanism)
        if mechanism == "border":
            return (*self._on_border(unit.polygon), mechanism)
        if mechanism == "remote":
            base = self.rng.choice(unit.remote)
            return (*self._near(unit.polygon, *base, 250.0), mechanism)
        return (*self._inside(unit.polygon), "noise")

    def _point(self, unit, lat, lon, year, mechanism, planted: bool) -> SimPoint:
        day = date(year, 3, 1) + timedelta(days=self.rng.randint(0, 121))
        plants = max(1, int(self.rng.lognormvariate(4.0, 1.0))) if planted else None
        outcome = (
            ("eradicated" if self.rng.random() < 0.7 else "confirmed") if planted else "false_alarm"
        )
        return SimPoint(
            id=f"SIM-{year}-{self.rng.getrandbits(32):08x}",
            unit=unit.name,
            lat=round(lat, 7),
            lon=round(lon, 7),
            year=year,
            observed_on=day,
            outcome=outcome,
            species=("opium_poppy" if self.rng.random() < 0.7 else "cannabis")
            if planted
            else "unknown",
            plants=plants,
            area_m2=round(plants * self.rng.uniform(0.05, 0.3), 1) if plants else None,
            mechanism=mechanism,
        )


def simulate(config: SimConfig = SimConfig()) -> SimCounty:
    builder = _Builder(config)
    units = builder.units()
    households, sites, plots = builder.registry(units)
    history = builder.history(units, households, plots)
    for household in households:
        household.offence_years.sort()
    return SimCounty(config, units, households, sites, history)


def backtest_inputs(county: SimCounty, resolution: int):
    """The back-test's inputs (grids, history, offender sites) straight from a simulation."""
    from . import backtest, grid

    grids = [
        grid.unit_grid(
            u.name,
            {"type": "Polygon", "coordinates": [[list(p) for p in u.polygon.exterior.coords]]},
            None,
            resolution,
        )
        for u in county.units
    ]
    history = [
        backtest.HistoryRecord(grid.cell_of(p.lat, p.lon, resolution), p.year, p.outcome)
        for p in county.history
    ]
    households = {h.id: h for h in county.households}
    offenders = [
        backtest.OffenderSite(
            grid.cell_of(site.lat, site.lon, resolution),
            tuple(households[site.household].offence_years),
        )
        for site in county.sites
        if site.household and households[site.household].offence_years
    ]
    return grids, history, offenders


# -- files in the import formats -------------------------------------------------------------


def unit_features(county: SimCounty) -> dict[str, Any]:
    return {
        "type": "FeatureCollection",
        "notice": NOTICE,
        "features": [
            {
                "type": "Feature",
                "properties": {"name": u.name, "parent": "SIM-county", "simulation": True},
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [
                        [[round(x, 7), round(y, 7)] for x, y in u.polygon.exterior.coords]
                    ],
                },
            }
            for u in county.units
        ],
    }


def _write_csv(path: Path, header: list[str], rows: list[list[Any]]) -> None:
    with path.open("w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def write_files(county: SimCounty, directory: Path) -> dict[str, Path]:
    """The county as the files an office would import: boundaries (GeoJSON), households,
    sites and history (CSV, UTF-8 with BOM as Excel writes it), and a notice."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = {
        "units": directory / "sim-units.geojson",
        "households": directory / "sim-households.csv",
        "sites": directory / "sim-sites.csv",
        "history": directory / "sim-history.csv",
        "notice": directory / "SIMULATION-README.txt",
    }
    paths["units"].write_text(json.dumps(unit_features(county), ensure_ascii=False), "utf-8")
    _write_csv(
        paths["households"],
        [
            "id",
            "unit",
            "village_group",
            "head_name",
            "contact",
            "past_offender",
            "offence_years",
            "simulation",
        ],
        [
            [
                h.id,
                h.unit,
                h.village_group,
                h.head_name,
                h.contact,
                "yes" if h.offence_years else "no",
                ";".join(map(str, h.offence_years)),
                "true",
            ]
            for h in county.households
        ],
    )
    _write_csv(
        paths["sites"],
        ["id", "unit", "site_type", "lat", "lon", "household", "simulation"],
        [
            [s.id, s.unit, s.site_type, s.lat, s.lon, s.household or "", "true"]
            for s in county.sites
        ],
    )
    _write_csv(
        paths["history"],
        [
            "id",
            "unit",
            "lat",
            "lon",
            "observed_on",
            "outcome",
            "species",
            "plants",
            "area_m2",
            "simulation",
        ],
        [
            [
                p.id,
                p.unit,
                p.lat,
                p.lon,
                p.observed_on.isoformat(),
                p.outcome,
                p.species,
                "" if p.plants is None else p.plants,
                "" if p.area_m2 is None else p.area_m2,
                "true",
            ]
            for p in county.history
        ],
    )
    paths["notice"].write_text(
        f"{NOTICE}\n模拟数据：仅用于测试 plantscout，并非真实地点或人员。\n"
        f"seed {county.config.seed}, years {county.config.years[0]}–{county.config.years[-1]}, "
        f"{len(county.units)} units, {len(county.households)} households, "
        f"{len(county.sites)} sites, {len(county.history)} history points\n",
        "utf-8",
    )
    return paths
