"""`appendices.xlsx`: one sheet per appendix, laid out like the printed report.

Title rows, grouped headings as merged cells, column numbers, bordered body, bold section
and total rows, frozen headings. Counts and rates are numbers (so the sheet can be summed)
with Vietnamese number formats: `[$-42A]` tags a format as Vietnamese, which renders
`67.918` and `99,20` in LibreOffice and in Excel on a Vietnamese system. A rate cell holds
the value already rounded or truncated as printed, with as many decimals as the appendix
prints (so truncation, which no number format can do, is honoured).
"""

from __future__ import annotations

import io
import math
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter
from openpyxl.writer.excel import ExcelWriter

from tthc_monitor.report.model import Appendix, Column, Count, Rate, Report, Row, Table, Text
from tthc_monitor.report.zipfix import normalize_zip

__all__ = ["xlsx_bytes"]

FONT_NAME = "Times New Roman"
COUNT_FORMAT = "[$-42A]#,##0"
_THIN = Side(style="thin")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_LINE_HEIGHT = 15.0  # points per line of 11-pt text
_FALLBACK_TIME = datetime(2000, 1, 1)


def _font(*, bold: bool = False, italic: bool = False, size: float = 11) -> Font:
    return Font(name=FONT_NAME, size=size, bold=bold, italic=italic)


def _lines(text: str, width: float, *, bold: bool = False) -> int:
    """Lines a wrapped text needs in a cell `width` characters wide (an estimate: a column
    width unit is about one digit; bold text runs some 15% wider)."""
    usable = max(width - 1.0, 1.0)
    return max(1, math.ceil(len(text) * (1.15 if bold else 1.0) / usable))


@dataclass(frozen=True)
class _HeadCell:
    text: str
    row: int  # heading level, 0 = top
    col: int
    rowspan: int
    colspan: int


def heading_grid(columns: tuple[Column, ...]) -> tuple[int, list[_HeadCell]]:
    """(depth, cells) of a table's heading: a column's heading path is split into levels;
    neighbouring columns sharing a prefix share its cell (a merge across them); a path that
    ends above the last level spans down to it."""
    depth = max(len(c.heading) for c in columns)
    cells: list[_HeadCell] = []
    for level in range(depth):
        i = 0
        while i < len(columns):
            heading = columns[i].heading
            if len(heading) <= level:
                i += 1
                continue
            if len(heading) == level + 1:
                cells.append(_HeadCell(heading[level], level, i, depth - level, 1))
                i += 1
                continue
            j = i
            while (
                j < len(columns)
                and len(columns[j].heading) > level + 1
                and columns[j].heading[: level + 1] == heading[: level + 1]
            ):
                j += 1
            cells.append(_HeadCell(heading[level], level, i, 1, j - i))
            i = j
    return depth, cells


def _rate_format(cell: Rate) -> str:
    decimals = len(cell.text.partition(",")[2])
    return "[$-42A]0" + ("." + "0" * decimals if decimals else "")


def _set(ws: Any, row: int, col: int, value: Any, **style: Any) -> Any:
    target = ws.cell(row=row, column=col, value=value)
    for key, item in style.items():
        setattr(target, key, item)
    return target


class _SheetWriter:
    def __init__(self, ws: Any, appendix: Appendix) -> None:
        self.ws = ws
        self.appendix = appendix
        self.ncols = max(len(t.columns) for t in appendix.tables)
        self.widths = [
            max(t.columns[i].width for t in appendix.tables if i < len(t.columns))
            for i in range(self.ncols)
        ]
        self.row = 1
        self.heading_top = 1

    def width(self, first: int, count: int) -> float:
        return sum(self.widths[first : first + count])

    def banner(
        self,
        text: str,
        *,
        bold: bool = False,
        italic: bool = False,
        size: float = 11,
        align: str = "center",
    ) -> None:
        ws = self.ws
        _set(
            ws,
            self.row,
            1,
            text,
            font=_font(bold=bold, italic=italic, size=size),
            alignment=Alignment(horizontal=align, vertical="center", wrap_text=True),
        )
        ws.merge_cells(start_row=self.row, start_column=1, end_row=self.row, end_column=self.ncols)
        ws.row_dimensions[self.row].height = _LINE_HEIGHT * _lines(text, self.width(0, self.ncols))
        self.row += 1

    def table(self, table: Table) -> int:
        """Write one table; returns the first body row (for freezing the headings)."""
        ws = self.ws
        if table.subtitle:
            self.banner(table.subtitle, bold=True, align="left")
        depth, cells = heading_grid(table.columns)
        top = self.heading_top = self.row
        needed = [1] * depth
        for head in cells:
            r, c = top + head.row, head.col + 1
            _set(
                ws,
                r,
                c,
                head.text,
                font=_font(bold=True),
                border=_BORDER,
                alignment=Alignment(horizontal="center", vertical="center", wrap_text=True),
            )
            if head.rowspan > 1 or head.colspan > 1:
                ws.merge_cells(
                    start_row=r,
                    start_column=c,
                    end_row=r + head.rowspan - 1,
                    end_column=c + head.colspan - 1,
                )
                # Merged cells keep only the top-left style; border the rest explicitly.
                for rr in range(r, r + head.rowspan):
                    for cc in range(c, c + head.colspan):
                        ws.cell(row=rr, column=cc).border = _BORDER
            lines = _lines(head.text, self.width(head.col, head.colspan), bold=True)
            # A cell spanning rows gets its lines spread over them (the last row takes the rest).
            share = math.ceil(lines / head.rowspan)
            last = head.row + head.rowspan - 1
            needed[last] = max(needed[last], lines - share * (head.rowspan - 1))
            for level in range(head.row, last):
                needed[level] = max(needed[level], share)
        for level in range(depth):
            ws.row_dimensions[top + level].height = _LINE_HEIGHT * needed[level]
        self.row = top + depth
        if any(c.number for c in table.columns):
            for i, column in enumerate(table.columns, start=1):
                _set(
                    ws,
                    self.row,
                    i,
                    column.number or None,
                    font=_font(italic=True),
                    border=_BORDER,
                    alignment=Alignment(horizontal="center"),
                )
            self.row += 1
        first_body = self.row
        self.body(table)
        for note in table.notes:
            self.banner(note, italic=True, align="left")
        return first_body

    def body(self, table: Table) -> None:
        ws = self.ws
        merge = [i for i, c in enumerate(table.columns) if c.key in table.merge_columns]
        runs: dict[int, int] = {}  # column index -> first row of the current run
        previous: Row | None = None
        for row in table.rows:
            bold = row.kind in ("section", "subtotal", "total")
            height = 1
            for i, (column, cell) in enumerate(zip(table.columns, row.cells, strict=True), 1):
                target = _set(ws, self.row, i, None, font=_font(bold=bold), border=_BORDER)
                horizontal = "center" if column.kind == "stt" else None
                if isinstance(cell, Text):
                    target.value = cell.text
                    if column.kind == "label":
                        height = max(height, _lines(cell.text, column.width))
                elif isinstance(cell, Count):
                    target.value = cell.value
                    target.number_format = COUNT_FORMAT
                elif isinstance(cell, Rate):
                    target.value = float(cell.shown)
                    target.number_format = _rate_format(cell)
                target.alignment = Alignment(
                    horizontal=horizontal, vertical="center", wrap_text=column.kind == "label"
                )
            if row.kind == "section" and len(table.columns) > 2:
                ws.merge_cells(
                    start_row=self.row,
                    start_column=2,
                    end_row=self.row,
                    end_column=len(table.columns),
                )
                height = 1
            for i in merge:
                same = (
                    previous is not None
                    and row.kind != "total"
                    and previous.kind != "total"
                    and previous.cells[i] == row.cells[i]
                )
                if not same:
                    self._close_run(runs.pop(i, None), i)
                    runs[i] = self.row
            ws.row_dimensions[self.row].height = _LINE_HEIGHT * height
            previous = row
            self.row += 1
        for i, start in runs.items():
            self._close_run(start, i)

    def _close_run(self, start: int | None, index: int) -> None:
        """Merge a run of equal cells (PL4's district number and name) down to `self.row-1`."""
        end = self.row - 1
        if start is None or end <= start:
            return
        self.ws.merge_cells(
            start_row=start, start_column=index + 1, end_row=end, end_column=index + 1
        )
        self.ws.cell(row=start, column=index + 1).alignment = Alignment(
            horizontal="center", vertical="center", wrap_text=True
        )

    def write(self) -> None:
        ws = self.ws
        appendix = self.appendix
        for i, width in enumerate(self.widths, start=1):
            ws.column_dimensions[get_column_letter(i)].width = width
        self.banner(appendix.label, bold=True, size=12)
        self.banner(appendix.title, bold=True, size=12)
        self.banner(appendix.period_text, italic=True)
        first_bodies = []
        for table in appendix.tables:
            self.row += 1
            first_bodies.append(self.table(table))
        labels = sum(1 for c in appendix.tables[0].columns if c.kind in ("stt", "label"))
        if len(appendix.tables) == 1:
            # Headings stay in view while scrolling, and so do the STT and name columns.
            ws.freeze_panes = f"{get_column_letter(labels + 1)}{first_bodies[0]}"
            # Printed pages repeat the headings too.
            ws.print_title_rows = f"{self.heading_top}:{first_bodies[0] - 1}"
        else:
            # Several tables share the sheet: a frozen heading would belong to the first only.
            ws.freeze_panes = f"{get_column_letter(labels + 1)}1"
        setup = ws.page_setup
        setup.orientation = "landscape" if sum(self.widths) > 100 else "portrait"
        setup.paperSize = ws.PAPERSIZE_A4
        setup.fitToWidth = 1
        setup.fitToHeight = 0
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.page_margins.left = ws.page_margins.right = 0.4
        ws.print_options.horizontalCentered = True


def _timestamp(as_of: str) -> datetime:
    """The snapshot's `as_of` in UTC without zone (what the xlsx core properties hold)."""
    try:
        moment = datetime.fromisoformat(as_of)
    except ValueError:
        return _FALLBACK_TIME
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.replace(microsecond=0)


def xlsx_bytes(report: Report) -> bytes:
    """The workbook's bytes; the same report gives the same bytes."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    for appendix in report.appendices:
        _SheetWriter(workbook.create_sheet(appendix.sheet), appendix).write()
    stamp = _timestamp(report.as_of)
    props = workbook.properties
    props.creator = report.issuer
    props.title = f"Phụ lục báo cáo TTHC kỳ {report.period.name}"
    props.created = props.modified = stamp
    props.lastModifiedBy = "TTHC Monitor"
    buffer = io.BytesIO()
    # ExcelWriter directly: openpyxl's save_workbook would stamp `modified` with the clock.
    archive = zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, allowZip64=True)
    ExcelWriter(workbook, archive).save()
    return normalize_zip(buffer.getvalue())
