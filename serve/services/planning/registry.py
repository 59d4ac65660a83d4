"""Jurisdiction and registry: unit boundaries, households and sites — import, list, change.

Imports are keyed (units by name, households and sites by unit + the office's id), so
re-importing a file changes nothing and a corrected file updates what it changes; every
create and change is audited. A file is checked whole before anything is written: a
self-intersecting boundary, two units that overlap, a site outside its unit, a site naming
an unknown household, an unknown unit, a date in the future — each is a row in one 422.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import numpy as np
import shapely
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ... import geo
from ...db import Database
from ...errors import Conflict, NotFound, PreconditionFailed, Unprocessable
from ...keys import Principal
from ...models import Household, PlanUnit, Site, utcnow
from ...schemas import planning as s
from ...vocab import SiteType
from .. import audit
from . import files, shapes
from .common import Counts, check_unit_access, content_hash, unit_area, unit_grid, upsert

DEFAULT_POINT_RADIUS_M = 1000.0
MAX_OVERLAP = 0.01  # share of the smaller unit two boundaries may share (digitising slivers)
SITE_TOLERANCE_M = 50.0  # a site this far outside its unit's boundary still counts as inside

UNIT_ALIASES = {"单位名称": "name", "上级": "parent", "半径": "radius_m", "半径(米)": "radius_m"}
HOUSEHOLD_ALIASES = {
    "户号": "id",
    "household_id": "id",
    "村民小组": "village_group",
    "小组": "village_group",
    "户主": "head_name",
    "户主姓名": "head_name",
    "姓名": "head_name",
    "联系电话": "contact",
    "电话": "contact",
    "联系方式": "contact",
    "phone": "contact",
    "地址": "address",
    "住址": "address",
    "前科": "past_offender",
    "是否前科": "past_offender",
    "前科户": "past_offender",
    "违法年份": "offence_years",
    "前科年份": "offence_years",
    "承诺书签订日期": "pledge_signed_on",
    "签订承诺书": "pledge_signed_on",
    "pledge": "pledge_signed_on",
    "告诫书送达日期": "notice_served_on",
    "送达告诫书": "notice_served_on",
    "notice": "notice_served_on",
}
HOUSEHOLD_COLUMNS = {
    "village_group",
    "head_name",
    "contact",
    "address",
    "past_offender",
    "offence_years",
    "pledge_signed_on",
    "notice_served_on",
}
SITE_ALIASES = {
    "地块编号": "id",
    "site_id": "id",
    "类型": "site_type",
    "地块类型": "site_type",
    "type": "site_type",
    "户号": "household",
    "所属户": "household",
    "household_id": "household",
    "违法年份": "offence_years",
}
SITE_TYPES: dict[str, str] = {t.value: t.value for t in SiteType} | {
    "庭院": "courtyard",
    "院落": "courtyard",
    "农田": "farmland",
    "耕地": "farmland",
    "荒地": "wasteland",
    "屋顶": "rooftop",
    "楼顶": "rooftop",
    "阳台": "rooftop",
    "大棚": "greenhouse",
    "温室": "greenhouse",
    "偏远地块": "remote_plot",
    "路边": "roadside",
    "林地": "forest",
    "河边": "riverbank",
    "其他": "other",
}


def _today() -> date:
    # A day of slack: a date typed in another time zone is not "in the future".
    return date.today() + timedelta(days=1)


# -- units -----------------------------------------------------------------------------------


def _unit_values(row: files.RawRow) -> dict[str, Any]:
    f = row.fields
    name = files.text(f.get("name") or f.get("unit") or f.get("id"), 100, "name")
    if not name:
        raise ValueError("the unit's name is missing (name)")
    if row.geometry is None:
        raise ValueError("no geometry (a polygon, or lat/lon with radius_m)")
    geometry = geo.normalise_geometry(row.geometry)
    radius = None
    if geometry["type"] == "Point":
        radius = files.number(f.get("radius_m"), "radius_m", 10, 50_000) or DEFAULT_POINT_RADIUS_M
    else:
        geometry = shapes.validate_area(geometry)
    area = shapes.area_shape(geometry, radius)
    min_lon, min_lat, max_lon, max_lat = area.bounds
    centre = area.representative_point()
    known = {"name", "unit", "id", "parent", "radius_m", "simulation", "lat", "lon", "geometry"}
    values = {
        "name": name,
        "parent": files.text(f.get("parent"), 100, "parent"),
        "geometry": geometry,
        "radius_m": radius,
        "lat": centre.y,
        "lon": centre.x,
        "min_lat": min_lat,
        "min_lon": min_lon,
        "max_lat": max_lat,
        "max_lon": max_lon,
        "simulation": bool(files.flag(f.get("simulation"), "simulation")),
        "properties": {
            k: v
            for k, v in f.items()
            if k not in known and v not in ("", None) and isinstance(v, str | int | float | bool)
        },
    }
    values["content_hash"] = content_hash(values)
    return values


def import_units(
    db: Database,
    principal: Principal | None,
    data: bytes,
    filename: str | None,
    fmt: str | None,
    encoding: str | None = None,
) -> s.PlanImportResult:
    raw, used = files.read_rows(data, filename, fmt, UNIT_ALIASES, encoding)
    errors, parsed = files.RowErrors(), []
    for row in raw:
        try:
            parsed.append((row.number, _unit_values(row)))
        except (ValueError, geo.GeometryError) as exc:
            errors.add(row.number, row.fields.get("name") or row.fields.get("id"), str(exc))
    files.check_unique(parsed, lambda v: (v["name"],), errors, "unit name")
    errors.raise_if_any("the unit file has bad rows")
    try:
        with db.write() as session:
            existing = {u.name: u for u in session.scalars(select(PlanUnit))}
            _check_overlaps(parsed, existing, errors)
            errors.raise_if_any("the unit boundaries overlap")
            counts = Counts()
            ids = upsert(
                session,
                entity="unit",
                existing=existing,
                items=[(v["name"], v) for _, v in parsed],
                make=lambda v: PlanUnit(id=str(uuid.uuid4()), **v),
                actor=principal,
                counts=counts,
            )
    except IntegrityError:
        raise Conflict("another import of the same units ran at the same time; retry") from None
    return _result("units", len(parsed), counts, used, ids)


def _check_overlaps(
    parsed: list[tuple[int, dict[str, Any]]], existing: dict[str, PlanUnit], errors
) -> None:
    """Units of the file against each other and against stored units not in the file."""
    names_in_file = {v["name"] for _, v in parsed}
    others = [
        (None, u.name, unit_area(u)) for u in existing.values() if u.name not in names_in_file
    ]
    mine = [
        (number, v["name"], shapes.area_shape(v["geometry"], v["radius_m"])) for number, v in parsed
    ]
    everything = mine + others
    tree = shapely.STRtree([g for _, _, g in everything])
    for i, (number, name, geom) in enumerate(mine):
        for j in tree.query(geom):
            if j == i or (j < len(mine) and j < i):
                continue  # itself, or a pair of file units already compared
            _, other_name, other = everything[j]
            share = shapes.overlap_share(geom, other)
            if share > MAX_OVERLAP:
                errors.add(
                    number,
                    name,
                    f"overlaps unit {other_name!r} by {share:.0%} of the smaller unit "
                    "(boundaries may share borders, not area)",
                )


def _result(kind: str, total: int, counts: Counts, encoding: str, ids: list[str]):
    return s.PlanImportResult(
        kind=kind,
        total=total,
        created=counts.created,
        updated=counts.updated,
        unchanged=counts.unchanged,
        encoding=encoding,
        ids=ids,
    )


def present_unit(unit: PlanUnit, resolution: int) -> s.Unit:
    g = unit_grid(unit, resolution)
    return s.Unit(
        id=unit.id,
        name=unit.name,
        parent=unit.parent,
        geometry=unit.geometry,
        radius_m=unit.radius_m,
        lat=unit.lat,
        lon=unit.lon,
        cells=len(g.cells),
        area_km2=round(shapes.area_m2(unit_area(unit)) / 1e6, 4),
        simulation=unit.simulation,
        updated_at=unit.updated_at,
    )


# -- households ------------------------------------------------------------------------------


def _household_values(row: files.RawRow, units: set[str]) -> dict[str, Any]:
    f = row.fields
    external = files.text(f.get("id"), 100, "id")
    if not external:
        raise ValueError("the household id is missing (id / 户号)")
    unit = files.text(f.get("unit"), 100, "unit")
    if not unit:
        raise ValueError("the unit is missing")
    if unit not in units:
        raise ValueError(f"unknown unit {unit!r}: import its boundary first")
    latest = _today()
    offence_years = files.years(f.get("offence_years"), "offence_years", latest.year)
    flagged = files.flag(f.get("past_offender"), "past_offender")
    values = {
        "unit": unit,
        "external_id": external,
        "village_group": files.text(f.get("village_group"), 100, "village_group"),
        "head_name": files.text(f.get("head_name"), 100, "head_name"),
        "contact": files.text(f.get("contact"), 200, "contact"),
        "address": files.text(f.get("address"), 300, "address"),
        "past_offender": bool(flagged) or bool(offence_years),
        "offence_years": offence_years,
        "pledge_signed_on": files.day(f.get("pledge_signed_on"), "pledge_signed_on", latest=latest),
        "notice_served_on": files.day(f.get("notice_served_on"), "notice_served_on", latest=latest),
        "notes": files.text(f.get("notes"), 4000, "notes"),
        "simulation": bool(files.flag(f.get("simulation"), "simulation")),
    }
    values["content_hash"] = content_hash(values)
    return values


def import_households(
    db: Database,
    principal: Principal | None,
    data: bytes,
    filename: str | None,
    fmt: str | None,
    encoding: str | None = None,
) -> s.PlanImportResult:
    raw, used = files.read_rows(data, filename, fmt, HOUSEHOLD_ALIASES, encoding)
    files.require_columns(raw, HOUSEHOLD_COLUMNS, "household")
    try:
        with db.write() as session:
            units = set(session.scalars(select(PlanUnit.name)))
            errors, parsed = files.RowErrors(), []
            for row in raw:
                try:
                    parsed.append((row.number, _household_values(row, units)))
                except ValueError as exc:
                    errors.add(row.number, row.fields.get("id"), str(exc))
            files.check_unique(
                parsed, lambda v: (v["unit"], v["external_id"]), errors, "household id"
            )
            errors.raise_if_any("the household file has bad rows")
            file_units = {v["unit"] for _, v in parsed}
            existing = {
                (h.unit, h.external_id): h
                for h in session.scalars(select(Household).where(Household.unit.in_(file_units)))
            }
            counts = Counts()
            ids = upsert(
                session,
                entity="household",
                existing=existing,
                items=[((v["unit"], v["external_id"]), v) for _, v in parsed],
                make=lambda v: Household(id=str(uuid.uuid4()), **v),
                actor=principal,
                counts=counts,
            )
    except IntegrityError:
        raise Conflict("another import of the same households ran at the same time") from None
    return _result("households", len(parsed), counts, used, ids)


def site_counts(session: Session, household_ids: list[str]) -> dict[str, int]:
    if not household_ids:
        return {}
    return dict(
        session.execute(
            select(Site.household_id, func.count())
            .where(Site.household_id.in_(household_ids))
            .group_by(Site.household_id)
        ).all()
    )


def present_household(row: Household, sites: int) -> s.Household:
    return s.Household(
        id=row.id,
        unit=row.unit,
        external_id=row.external_id,
        village_group=row.village_group,
        head_name=row.head_name,
        contact=row.contact,
        address=row.address,
        past_offender=row.past_offender,
        offence_years=list(row.offence_years or []),
        pledge_signed_on=row.pledge_signed_on,
        notice_served_on=row.notice_served_on,
        notes=row.notes,
        sites=sites,
        simulation=row.simulation,
        version=row.version,
        updated_at=row.updated_at,
    )


def patch_household(
    db: Database,
    principal: Principal,
    household_id: str,
    patch: s.HouseholdPatch,
    if_match: str | None,
) -> s.Household:
    """Record a pledge signed, a notice served or a corrected contact; audited."""
    with db.write() as session:
        row = session.scalar(
            select(Household).where(Household.id == household_id).with_for_update()
        )
        if row is None:
            raise NotFound(f"no household {household_id!r}")
        check_unit_access(principal, row.unit)
        if if_match is not None and if_match.strip().strip('"') != str(row.version):
            raise PreconditionFailed(
                f"the household changed since you read it (now version {row.version})"
            )
        latest = _today()
        for name in ("pledge_signed_on", "notice_served_on"):
            value = getattr(patch, name)
            if name in patch.model_fields_set and value is not None and value > latest:
                raise Unprocessable(
                    f"{name} {value} is in the future",
                    details=[{"field": name, "message": "in the future"}],
                )
        new = {name: getattr(patch, name) for name in patch.model_fields_set}
        if "offence_years" in new:
            new["offence_years"] = sorted(set(new["offence_years"] or []))
            if new["offence_years"]:
                new["past_offender"] = True
        if new.get("past_offender") is None and "past_offender" in new:
            new.pop("past_offender")
        before = {k: getattr(row, k) for k in new}
        changes = audit.diff(before, new)
        if changes:
            for name, value in new.items():
                setattr(row, name, value)
            row.version += 1
            row.updated_at = utcnow()
            row.content_hash = content_hash(
                {
                    k: getattr(row, k)
                    for k in (
                        "unit external_id village_group head_name contact address past_offender "
                        "offence_years pledge_signed_on notice_served_on notes simulation"
                    ).split()
                }
            )
            audit.record(
                session,
                entity="household",
                entity_id=row.id,
                action="updated",
                changes=changes,
                actor=principal,
            )
        session.flush()
        return present_household(row, site_counts(session, [row.id]).get(row.id, 0))


# -- sites -----------------------------------------------------------------------------------


def _site_values(
    row: files.RawRow, units: dict[str, PlanUnit], households: dict[tuple[str, str], str]
) -> dict[str, Any]:
    f = row.fields
    external = files.text(f.get("id"), 100, "id")
    if not external:
        raise ValueError("the site id is missing (id / 地块编号)")
    unit_name = files.text(f.get("unit"), 100, "unit")
    if not unit_name:
        raise ValueError("the unit is missing")
    unit = units.get(unit_name)
    if unit is None:
        raise ValueError(f"unknown unit {unit_name!r}: import its boundary first")
    if row.geometry is None:
        raise ValueError("no location (lat/lon, or a geometry)")
    geometry = geo.normalise_geometry(row.geometry)
    if geometry["type"] != "Point":
        geometry = shapes.validate_area(geometry)
    lat, lon = geo.centroid(geometry)
    distance = float(shapes.distance_m(unit_area(unit), np.array([lat]), np.array([lon]))[0])
    if distance > SITE_TOLERANCE_M:
        raise ValueError(f"the site is outside unit {unit_name!r} ({distance:.0f} m from it)")
    household_ref = files.text(f.get("household"), 100, "household")
    household_id = None
    if household_ref:
        household_id = households.get((unit_name, household_ref))
        if household_id is None:
            raise ValueError(
                f"unknown household {household_ref!r} in unit {unit_name!r}: import households first"
            )
    min_lat, min_lon, max_lat, max_lon = geo.bbox(geometry)
    values = {
        "unit": unit_name,
        "external_id": external,
        "name": files.text(f.get("name"), 300, "name"),
        "site_type": files.choice(f.get("site_type"), "site_type", SITE_TYPES, "other"),
        "geometry": geometry,
        "lat": lat,
        "lon": lon,
        "min_lat": min_lat,
        "min_lon": min_lon,
        "max_lat": max_lat,
        "max_lon": max_lon,
        "household_id": household_id,
        "offence_years": files.years(f.get("offence_years"), "offence_years", _today().year),
        "notes": files.text(f.get("notes"), 4000, "notes"),
        "simulation": bool(files.flag(f.get("simulation"), "simulation")),
    }
    values["content_hash"] = content_hash(values)
    return values


def import_sites(
    db: Database,
    principal: Principal | None,
    data: bytes,
    filename: str | None,
    fmt: str | None,
    encoding: str | None = None,
) -> s.PlanImportResult:
    raw, used = files.read_rows(data, filename, fmt, SITE_ALIASES, encoding)
    files.require_columns(raw, {"site_type", "household", "lat", "geometry"}, "site")
    try:
        with db.write() as session:
            units = {u.name: u for u in session.scalars(select(PlanUnit))}
            households = {
                (unit, ext): hid
                for unit, ext, hid in session.execute(
                    select(Household.unit, Household.external_id, Household.id)
                ).all()
            }
            errors, parsed = files.RowErrors(), []
            for row in raw:
                try:
                    parsed.append((row.number, _site_values(row, units, households)))
                except (ValueError, geo.GeometryError) as exc:
                    errors.add(row.number, row.fields.get("id"), str(exc))
            files.check_unique(parsed, lambda v: (v["unit"], v["external_id"]), errors, "site id")
            errors.raise_if_any("the site file has bad rows")
            file_units = {v["unit"] for _, v in parsed}
            existing = {
                (r.unit, r.external_id): r
                for r in session.scalars(select(Site).where(Site.unit.in_(file_units)))
            }
            counts = Counts()
            ids = upsert(
                session,
                entity="site",
                existing=existing,
                items=[((v["unit"], v["external_id"]), v) for _, v in parsed],
                make=lambda v: Site(id=str(uuid.uuid4()), **v),
                actor=principal,
                counts=counts,
            )
    except IntegrityError:
        raise Conflict("another import of the same sites ran at the same time; retry") from None
    return _result("sites", len(parsed), counts, used, ids)


def offender_households(session: Session, units: list[str]) -> dict[str, Household]:
    return {
        h.id: h
        for h in session.scalars(
            select(Household).where(Household.unit.in_(units), Household.past_offender.is_(True))
        )
    }


def present_sites(session: Session, rows: list[Site]) -> list[s.Site]:
    ids = {r.household_id for r in rows if r.household_id}
    households = (
        {h.id: h for h in session.scalars(select(Household).where(Household.id.in_(ids)))}
        if ids
        else {}
    )
    out = []
    for r in rows:
        household = households.get(r.household_id or "")
        years = sorted(
            set(r.offence_years or []) | set(household.offence_years if household else [])
        )
        out.append(
            s.Site(
                id=r.id,
                unit=r.unit,
                external_id=r.external_id,
                name=r.name,
                site_type=r.site_type,
                geometry=r.geometry,
                lat=r.lat,
                lon=r.lon,
                household_id=r.household_id,
                household_external_id=household.external_id if household else None,
                past_offence=bool(years) or bool(household and household.past_offender),
                offence_years=years,
                notes=r.notes,
                simulation=r.simulation,
            )
        )
    return out


def units_containing(
    units: list[PlanUnit], lat: np.ndarray, lon: np.ndarray, tolerance_m: float = 0.0
) -> list[str | None]:
    """The unit whose area holds each point (the nearest within ``tolerance_m`` otherwise)."""
    out: list[str | None] = [None] * len(lat)
    best = np.full(len(lat), np.inf)
    for unit in units:
        area = unit_area(unit)
        inside = shapes.contains(area, lat, lon)
        for i in np.flatnonzero(inside & (best > 0)):
            out[i], best[i] = unit.name, 0.0
        if tolerance_m > 0:
            todo = np.flatnonzero(best > 0)
            if len(todo):
                d = shapes.distance_m(area, lat[todo], lon[todo])
                for k, i in enumerate(todo):
                    if d[k] <= tolerance_m and d[k] < best[i]:
                        out[i], best[i] = unit.name, d[k]
    return out
