"""Small hand-made jurisdiction for the planning API tests: two adjacent units (the keys'
``unit-a`` and ``unit-b``), households, sites and history whose effects can be worked out by
hand, and helpers to post them."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

A_WEST, A_EAST, B_EAST = 100.80, 100.82, 100.84
SOUTH, NORTH = 22.00, 22.02


def square(west: float, south: float, east: float, north: float) -> dict[str, Any]:
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {"type": "Polygon", "coordinates": [ring]}


UNITS = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "properties": {"name": "unit-a", "parent": "county"},
            "geometry": square(A_WEST, SOUTH, A_EAST, NORTH),
        },
        {
            "type": "Feature",
            "properties": {"name": "unit-b", "parent": "county"},
            "geometry": square(A_EAST, SOUTH, B_EAST, NORTH),
        },
    ],
}

# A hot spot inside unit-a, away from its borders (~1 km from each), planted 2021 and 2023.
HOT = (22.010, 100.810)
OFFENDER_PLOT = (22.004, 100.814)


def csv_bytes(header: list[str], rows: list[list[Any]], encoding: str = "utf-8-sig") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


# What an office's Excel writes on a Chinese Windows: GBK, Chinese headers and values.
HOUSEHOLDS_GBK = csv_bytes(
    ["户号", "单位", "村民小组", "户主姓名", "联系电话", "前科", "违法年份", "承诺书签订日期"],
    [
        ["H1", "unit-a", "第一组", "张三", "13800000001", "是", "2021", "2024/3/5"],
        ["H2", "unit-a", "第二组", "李四", "13800000002", "否", "", ""],
        ["H9", "unit-b", "第一组", "王五", "13800000009", "否", "", "2024-03-06"],
    ],
    encoding="gbk",
)
SITES = csv_bytes(
    ["id", "unit", "site_type", "lat", "lon", "household", "name"],
    [
        ["S1", "unit-a", "farmland", OFFENDER_PLOT[0], OFFENDER_PLOT[1], "H1", "张三的玉米地"],
        ["S2", "unit-a", "庭院", 22.012, 100.806, "H2", ""],
        ["S3", "unit-a", "wasteland", 22.018, 100.818, "", "河滩荒地"],
        ["S9", "unit-b", "greenhouse", 22.010, 100.830, "H9", ""],
    ],
)
HISTORY = csv_bytes(
    ["id", "lat", "lon", "observed_on", "outcome", "species", "plants", "area_m2"],
    [
        ["P21", HOT[0], HOT[1], "2021-05-02", "已铲除", "罂粟", 120, 30],
        ["P23", HOT[0] + 0.0002, HOT[1], "2023-04-20", "confirmed", "opium_poppy", 80, 20],
        ["P22B", 22.010, 100.835, "2022-06-01", "eradicated", "cannabis", 40, 12],
        ["F23", 22.002, 100.802, "2023-05-01", "误报", "", "", ""],
    ],
)


def post_file(
    service,
    path: str,
    data: bytes,
    name: str,
    who: str,
    expect: int | None = 200,
    **form: str,
):
    response = service.client.post(
        path, data=form, files={"file": (name, data, "text/csv")}, headers=service.auth(who)
    )
    if expect is not None:
        assert response.status_code == expect, response.text
    return response


def load_all(service) -> None:
    post_file(service, "/v1/units/import", json.dumps(UNITS).encode(), "u.geojson", "admin")
    post_file(service, "/v1/households/import", HOUSEHOLDS_GBK, "h.csv", "reviewer")
    post_file(service, "/v1/sites/import", SITES, "s.csv", "reviewer")
    post_file(service, "/v1/history/import", HISTORY, "p.csv", "reviewer", source="county-survey")
