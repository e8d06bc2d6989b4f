"""Appendix tables as CSV (machine-readable) and Markdown (for people).

CSV keeps the seed's column names (`appendix1_online_reception.csv` …) so a regenerated
appendix can be diffed against the seed's: STT as a number (`total` on the total row),
`group` for tables with sections, counts as plain integers, each rate twice, `<key>` as a
decimal with a point at the printed precision (empty when the denominator is 0, i.e. null)
and `<key>_printed` as the appendix prints it in Vietnamese (`99,20`, `0`).
"""

from __future__ import annotations

import csv
import io

from tthc_monitor.report.model import Appendix, Count, Rate, Report, Row, Table, Text
from tthc_monitor.report.vnformat import format_int, format_month

__all__ = ["appendices_markdown", "table_csv"]


def table_csv(table: Table) -> str:
    header: list[str] = []
    for i, column in enumerate(table.columns):
        header.append(column.key)
        if i == 0 and table.grouped:
            header.append("group")
        if column.kind == "rate":
            header.append(f"{column.key}_printed")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in table.rows:
        if row.kind == "section":
            continue
        cells: list[str] = []
        for i, (column, cell) in enumerate(zip(table.columns, row.cells, strict=True)):
            if i == 0:
                cells.append(row.number)
                if table.grouped:
                    cells.append(row.group)
            elif isinstance(cell, Text):
                cells.append(cell.text)
            elif isinstance(cell, Count):
                cells.append(str(cell.value))
            elif isinstance(cell, Rate):
                value = cell.value
                cells += ["" if value is None else str(value), cell.text]
            else:
                cells.append("")
                if column.kind == "rate":
                    cells.append("")
        writer.writerow(cells)
    return out.getvalue()


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|")


def _md_cell(row: Row, cell: object, repeat: bool) -> str:
    if cell is None or repeat:
        return ""
    if isinstance(cell, Text):
        text = _md_escape(cell.text)
    elif isinstance(cell, Count):
        text = format_int(cell.value)
    elif isinstance(cell, Rate):
        text = cell.text
    else:
        return ""
    if row.kind in ("section", "subtotal", "total") and text:
        return f"**{text}**"
    return text


def _md_table(table: Table) -> list[str]:
    lines: list[str] = []
    if table.subtitle:
        lines += [f"### {table.subtitle}", ""]
    headings = []
    for column in table.columns:
        label = " / ".join(column.heading)
        if column.number and column.kind not in ("stt", "label"):
            label += f" {column.number}"
        headings.append(_md_escape(label))
    lines.append("| " + " | ".join(headings) + " |")
    align = ["---:" if c.kind in ("count", "rate") else ":---" for c in table.columns]
    lines.append("| " + " | ".join(align) + " |")
    merge = [table.columns.index(c) for c in table.columns if c.key in table.merge_columns]
    previous: Row | None = None
    for row in table.rows:
        cells = []
        for i, cell in enumerate(row.cells):
            # Merged columns (PL4's district) are printed on the first row of their run.
            repeat = (
                i in merge
                and previous is not None
                and previous.kind != "total"
                and previous.cells[i] == cell
            )
            cells.append(_md_cell(row, cell, repeat))
        lines.append("| " + " | ".join(cells) + " |")
        previous = row
    lines.append("")
    lines += [f"*{_md_escape(note)}*" for note in table.notes]
    if table.notes:
        lines.append("")
    return lines


def _md_appendix(appendix: Appendix) -> list[str]:
    lines = [
        f"## {appendix.label}",
        "",
        f"**{appendix.title}**",
        "",
        f"*{appendix.period_text}*",
        "",
    ]
    for table in appendix.tables:
        lines += _md_table(table)
    return lines


def appendices_markdown(report: Report) -> str:
    lines = [f"# Phụ lục báo cáo tháng {format_month(report.period.name)} — {report.province}", ""]
    source = f"Số liệu: snapshot kỳ {report.period.name}"
    if report.version:
        source += f", phiên bản {report.version}"
    if report.as_of:
        source += f", chốt lúc {report.as_of}"
    lines += [f"*{source}.*", ""]
    for appendix in report.appendices:
        lines += _md_appendix(appendix)
    return "\n".join(lines).rstrip("\n") + "\n"
