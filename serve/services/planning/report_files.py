"""The period report as XLSX (one sheet per table, Chinese headers) and as CSV (one table).

XLSX is what county offices exchange. Every text cell is written as text: openpyxl would
otherwise store a value starting with ``=`` as a formula, and household names and notes
come from imported files. Numbers stay numbers, so the office can sum them. The notes sheet
says when the data is a simulation and that the households sheet holds personal data.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from plantscout.model.exports import csv_cell  # the shared spreadsheet-formula guard

from ...schemas import planning as s
from .report import SPECIES_ZH

SUMMARY: list[tuple[str, str]] = [
    ("unit", "单位"),
    ("turnouts", "巡查人次"),
    ("inspections", "巡查记录数"),
    ("track_km", "巡查轨迹(公里)"),
    ("cells_covered", "覆盖网格数"),
    ("area_covered_km2", "覆盖面积(平方公里)"),
    ("cells_total", "辖区网格数"),
    ("coverage_share", "网格覆盖率"),
    ("targets_issued", "下发疑似目标数"),
    ("targets_checked", "已核查目标数"),
    ("targets_on_time", "按期核查目标数"),
    ("found_opium_poppy", "发现罂粟(处)"),
    ("found_cannabis", "发现大麻(处)"),
    ("eradications", "铲除次数"),
    ("plants_eradicated", "铲除株数"),
    ("area_eradicated_m2", "铲除面积(平方米)"),
    ("pledges_signed", "签订承诺书(户)"),
    ("notices_served", "送达告诫书(户)"),
]
SPECIES: list[tuple[str, str]] = [
    ("unit", "单位"),
    ("species", "品种"),
    ("found", "发现(处)"),
    ("eradications", "铲除次数"),
    ("plants_eradicated", "铲除株数"),
    ("area_eradicated_m2", "铲除面积(平方米)"),
]
HOUSEHOLDS: list[tuple[str, str]] = [
    ("unit", "单位"),
    ("external_id", "户号"),
    ("village_group", "村民小组"),
    ("head_name", "户主"),
    ("contact", "联系电话"),
    ("pledge_signed_on", "承诺书签订日期"),
    ("notice_served_on", "告诫书送达日期"),
]
# Tip-offs from the public (issue 15): per ISO week and in total (see services/tips/stats.py).
TIPS: list[tuple[str, str]] = [
    ("week", "周(周一)"),
    ("received", "收到举报(条)"),
    ("new_groups", "新线索(组)"),
    ("confirmed", "已证实"),
    ("not_confirmed", "未证实"),
    ("share_confirmed", "证实比例"),
    ("median_hours_to_first_check", "首次现场核查中位时间(小时)"),
    ("rewards_paid", "发放奖励(笔)"),
    ("reward_amount_paid", "发放奖励(元)"),
]
SHEETS = {
    "summary": "汇总",
    "species": "按品种",
    "households": "承诺告诫(含个人信息)",
    "tips": "群众举报",
    "notes": "说明",
}
DEFINITIONS = [
    ("巡查人次", "民警（巡查员）与日期的不同组合数，来自巡查记录与 GPS 轨迹"),
    ("覆盖网格", "期间内有巡查记录或轨迹经过的辖区网格（H3 六边形）"),
    ("发现", "期间内观察到、经复核确认为罂粟或大麻的巡查记录"),
    ("铲除", "铲除日期在期间内的记录；品种取自复核结论，未复核的记为“未经复核”"),
    (
        "下发/核查/按期",
        "期间内下发给本单位的疑似目标；期末前有关联巡查即为已核查；首次核查不晚于期限为按期",
    ),
    ("承诺书/告诫书", "签订或送达日期在期间内的住户"),
    (
        "群众举报",
        "期间内收到的举报（按收到日期的周统计，现状为准）；证实比例 = 已证实 /（已证实 + 未证实），"
        "被驳回的计为未证实；首次核查 = 收到举报后其核查目标的第一条巡查记录；奖励按发放日期统计。"
        "单位报表只计转为本单位核查目标的举报",
    ),
]


def _rows(table: str, report: s.PeriodReport) -> tuple[list[tuple[str, str]], list[dict[str, Any]]]:
    if table == "summary":
        return SUMMARY, [r.model_dump() for r in [*report.units, report.totals]]
    if table == "species":
        rows = [r.model_dump() for r in report.species]
        for row in rows:
            row["species"] = SPECIES_ZH.get(row["species"], row["species"])
        return SPECIES, rows
    if table == "households":
        return HOUSEHOLDS, [r.model_dump() for r in report.households]
    if table == "tips":
        if report.tips is None:
            return TIPS, []
        rows = []
        for week in report.tips.weeks:
            row = week.model_dump()
            decided = week.confirmed + week.not_confirmed
            row["share_confirmed"] = round(week.confirmed / decided, 4) if decided else None
            rows.append(row)
        totals = report.tips.totals
        rows.append(
            {
                "week": "合计 (total)",
                "received": totals.received,
                "new_groups": totals.groups,
                "confirmed": totals.confirmed,
                "not_confirmed": totals.not_confirmed,
                "share_confirmed": totals.share_confirmed,
                "median_hours_to_first_check": totals.median_hours_to_first_check,
                "rewards_paid": totals.rewards_paid,
                "reward_amount_paid": totals.reward_amount_paid,
            }
        )
        return TIPS, rows
    raise ValueError(table)


def _text(value: str) -> str:
    return ILLEGAL_CHARACTERS_RE.sub("", value)


def _put(sheet, row: int, col: int, value: Any) -> None:
    cell = sheet.cell(row=row, column=col)
    if isinstance(value, str):
        cell.value = _text(value)
        cell.data_type = "s"  # never a formula, whatever the text starts with
    elif isinstance(value, datetime):
        cell.value = value.replace(tzinfo=None)
        cell.number_format = "yyyy-mm-dd hh:mm"
    elif isinstance(value, date):
        cell.value = value
        cell.number_format = "yyyy-mm-dd"
    else:
        cell.value = value


def _table(sheet, columns: list[tuple[str, str]], rows: list[dict[str, Any]]) -> None:
    bold = Font(bold=True)
    for col, (_, header) in enumerate(columns, start=1):
        _put(sheet, 1, col, header)
        sheet.cell(row=1, column=col).font = bold
        sheet.column_dimensions[get_column_letter(col)].width = max(10, len(header) * 2 + 2)
    for r, row in enumerate(rows, start=2):
        for col, (key, _) in enumerate(columns, start=1):
            _put(sheet, r, col, row.get(key))
    sheet.freeze_panes = "B2"


def xlsx(report: s.PeriodReport) -> bytes:
    book = Workbook()
    summary = book.active
    summary.title = SHEETS["summary"]
    for table in ("summary", "species", "households", "tips"):
        sheet = summary if table == "summary" else book.create_sheet(SHEETS[table])
        _table(sheet, *_rows(table, report))
    notes = book.create_sheet(SHEETS["notes"])
    lines: list[tuple[str, Any]] = [
        ("报表", report.title),
        ("期间", f"{report.since.isoformat()} 至 {report.until.isoformat()}（含）"),
        ("单位", "、".join(r.unit for r in report.units)),
        ("生成时间 (UTC)", report.generated_at),
        ("生成人", report.generated_by or ""),
        (
            "数据性质",
            "模拟数据 SIMULATION：仅用于测试，不是真实记录"
            if report.simulation
            else "plantscout 巡查记录",
        ),
        ("个人信息", s.PERSONAL_DATA_NOTICE),
        *DEFINITIONS,
    ]
    for r, (key, value) in enumerate(lines, start=1):
        _put(notes, r, 1, key)
        notes.cell(row=r, column=1).font = Font(bold=True)
        _put(notes, r, 2, value)
    notes.column_dimensions["A"].width = 18
    notes.column_dimensions["B"].width = 100
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def csv_table(report: s.PeriodReport, table: str) -> str:
    """One table as CSV (UTF-8 with BOM for Excel), Chinese headers, formula-guarded cells."""
    columns, rows = _rows(table, report)
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([header for _, header in columns])
    cell: Callable[[Any], str] = csv_cell
    for row in rows:
        writer.writerow([cell(row.get(key)) for key, _ in columns])
    return buffer.getvalue()
