"""The appendices (Phụ lục) of the signed report, after its ending, as Word tables.

Each appendix starts a new section (landscape when its columns are wide, as the workbook
decides) headed by its label, its title, the line tying it to the report ("Kèm theo Báo
cáo số …") and its period. Tables repeat the layout of `appendices.xlsx`: grouped headings
as merged cells (`xlsx.heading_grid`), column numbers, bold section and total rows, PL4's
district merged over its rows; the heading rows repeat on every page a table runs onto.
Numbers are printed in the Vietnamese format the other outputs use.
"""

from __future__ import annotations

from docx.document import Document
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Cm, Length, Pt
from docx.styles.style import ParagraphStyle
from docx.table import _Cell

from tthc_monitor.report.docx_ooxml import (
    fix_table,
    repeat_as_header,
    set_cell_margins,
    set_run_font,
    set_table_borders,
    tight,
)
from tthc_monitor.report.model import Appendix, Column, Count, Rate, Report, Row, Table, Text
from tthc_monitor.report.vnformat import format_int
from tthc_monitor.report.xlsx import heading_grid

__all__ = ["add_appendices", "is_landscape"]

TABLE_FONT = 10.0
_PAGE_SHORT, _PAGE_LONG = Cm(21.0), Cm(29.7)
_LEFT, _RIGHT = Cm(3.0), Cm(1.5)


def is_landscape(appendix: Appendix) -> bool:
    """The workbook's rule: wider than 100 character units goes landscape."""
    widths = [sum(c.width for c in t.columns) for t in appendix.tables]
    return max(widths) > 100


# Table text is formatted by three paragraph styles (10 pt, single-spaced, by alignment)
# rather than run by run: a few thousand cells of direct formatting made the file slow to
# build and larger.
Styles = dict[WD_ALIGN_PARAGRAPH, ParagraphStyle]
_STYLE_NAMES = {
    WD_ALIGN_PARAGRAPH.LEFT: "Table Text",
    WD_ALIGN_PARAGRAPH.RIGHT: "Table Number",
    WD_ALIGN_PARAGRAPH.CENTER: "Table Heading",
}


def _table_styles(document: Document) -> Styles:
    styles: Styles = {}
    for align, name in _STYLE_NAMES.items():
        style = document.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
        assert isinstance(style, ParagraphStyle)
        style.base_style = document.styles["Normal"]
        style.font.size = Pt(TABLE_FONT)
        fmt = style.paragraph_format
        fmt.space_before = fmt.space_after = Pt(0)
        fmt.line_spacing = 1.0
        fmt.first_line_indent = Pt(0)
        fmt.alignment = align
        styles[align] = style
    return styles


def _write(
    cell: _Cell,
    text: str,
    style: ParagraphStyle,
    *,
    bold: bool = False,
    italic: bool = False,
) -> None:
    paragraph = cell.paragraphs[0]
    # The style id directly: `Paragraph.style = ` searches the styles part on every call.
    paragraph._p.style = style.style_id
    run = paragraph.add_run(text)
    if bold:
        run.bold = True
    if italic:
        run.italic = True
    cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER


def _cell_text(cell: object) -> str:
    if isinstance(cell, Text):
        return cell.text
    if isinstance(cell, Count):
        return format_int(cell.value)
    if isinstance(cell, Rate):
        return cell.text
    return ""


def _align(column: Column) -> WD_ALIGN_PARAGRAPH:
    if column.kind == "label":
        return WD_ALIGN_PARAGRAPH.LEFT
    if column.kind in ("count", "rate"):
        return WD_ALIGN_PARAGRAPH.RIGHT
    return WD_ALIGN_PARAGRAPH.CENTER


_MIN_WIDTH = Cm(1.0)  # "STT" and "(1)" on one line at 10 pt bold


def _widths(table: Table, available: Length) -> list[Length]:
    """The workbook's column widths scaled to the page; a column that would be narrower
    than `_MIN_WIDTH` gets that, and the others share what is left in proportion."""
    units = [c.width for c in table.columns]
    narrow = [available * u / sum(units) < _MIN_WIDTH for u in units]
    rest = available - _MIN_WIDTH * sum(narrow)
    wide_total = sum(u for u, n in zip(units, narrow, strict=True) if not n)
    return [
        Length(int(_MIN_WIDTH if n else rest * u / wide_total))
        for u, n in zip(units, narrow, strict=True)
    ]


# Cells are looked up in a grid taken once, before any merge: python-docx's `Table.cell`
# rebuilds the whole grid on every call. Text goes into a merge's first cell before the
# merge, so the merged cell holds one paragraph (python-docx moves only non-empty cells).
Grid = list[list[_Cell]]


def _heading(grid: Grid, table: Table, styles: Styles) -> int:
    """Write the heading rows (and the column-number row); how many rows they take."""
    depth, heads = heading_grid(table.columns)
    for head in heads:
        target = grid[head.row][head.col]
        _write(target, head.text, styles[WD_ALIGN_PARAGRAPH.CENTER], bold=True)
        if head.rowspan > 1 or head.colspan > 1:
            target.merge(grid[head.row + head.rowspan - 1][head.col + head.colspan - 1])
    if not any(c.number for c in table.columns):
        return depth
    for cell, column in zip(grid[depth], table.columns, strict=True):
        _write(cell, column.number, styles[WD_ALIGN_PARAGRAPH.CENTER], italic=True)
    return depth + 1


def _same_run(previous: Row | None, row: Row, index: int) -> bool:
    """PL4's district cell continues the one above (the xlsx merges the same runs)."""
    return (
        previous is not None
        and row.kind != "total"
        and previous.kind != "total"
        and previous.cells[index] == row.cells[index]
    )


def _body(grid: Grid, table: Table, first: int, styles: Styles) -> None:
    merge = [i for i, c in enumerate(table.columns) if c.key in table.merge_columns]
    run_start: dict[int, int] = {}
    previous: Row | None = None
    for offset, row in enumerate(table.rows):
        r = first + offset
        cells = grid[r]
        bold = row.kind in ("section", "subtotal", "total")
        # A section row's title runs across the figures.
        across = row.kind == "section" and len(table.columns) > 2
        for i, (column, value) in enumerate(zip(table.columns, row.cells, strict=True)):
            if (i in merge and _same_run(previous, row, i)) or (across and i > 1):
                continue
            _write(cells[i], _cell_text(value), styles[_align(column)], bold=bold)
        if across:
            cells[1].merge(cells[-1])
        for i in merge:
            if not _same_run(previous, row, i):
                _close_run(grid, run_start.pop(i, None), r - 1, i)
                run_start[i] = r
        previous = row
    last = first + len(table.rows) - 1
    for i, start in run_start.items():
        _close_run(grid, start, last, i)


def _close_run(grid: Grid, start: int | None, end: int, index: int) -> None:
    if start is not None and end > start:
        grid[start][index].merge(grid[end][index])


def _add_table(document: Document, table: Table, available: Length, styles: Styles) -> None:
    if table.subtitle:
        paragraph = tight(document.add_paragraph(), before=6, after=3)
        set_run_font(paragraph.add_run(table.subtitle), 12, bold=True)
    depth, _ = heading_grid(table.columns)
    heading_rows = depth + (1 if any(c.number for c in table.columns) else 0)
    grid = document.add_table(rows=heading_rows + len(table.rows), cols=len(table.columns))
    grid.alignment = WD_TABLE_ALIGNMENT.CENTER
    set_table_borders(grid, visible=True)
    set_cell_margins(grid, Cm(0.08), Cm(0.08))
    fix_table(grid, _widths(table, available))
    cells = [list(row.cells) for row in grid.rows]
    first = _heading(cells, table, styles)
    repeat_as_header(grid, first)
    _body(cells, table, first, styles)
    for note in table.notes:
        paragraph = tight(document.add_paragraph(), before=3)
        set_run_font(paragraph.add_run(note), TABLE_FONT, italic=True)


def _new_section(document: Document, landscape: bool) -> Length:
    """A new page section in the orientation asked; the text width it leaves."""
    section = document.add_section(WD_SECTION.NEW_PAGE)
    section.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
    if landscape:
        section.page_width, section.page_height = _PAGE_LONG, _PAGE_SHORT
    else:
        section.page_width, section.page_height = _PAGE_SHORT, _PAGE_LONG
    section.different_first_page_header_footer = False
    return Length(int(section.page_width - _LEFT - _RIGHT))


def _centred(
    document: Document, text: str, size: float, *, after: float = 0, **style: bool
) -> None:
    paragraph = tight(document.add_paragraph(), after=after)
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    set_run_font(paragraph.add_run(text), size, **style)


def add_appendices(document: Document, report: Report, attached_to: str) -> None:
    """Every appendix on its own pages; `attached_to` is the "(Kèm theo …)" line."""
    styles = _table_styles(document)
    for appendix in report.appendices:
        available = _new_section(document, is_landscape(appendix))
        _centred(document, appendix.label, 13, bold=True)
        _centred(document, appendix.title, 13, bold=True)
        _centred(document, attached_to, 12, italic=True)
        _centred(document, appendix.period_text, 12, italic=True, after=6)
        for table in appendix.tables:
            _add_table(document, table, available, styles)
