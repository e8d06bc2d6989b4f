"""The signed report's first lines, as Nghị định 30/2020/NĐ-CP (Phụ lục I) lays them out.

A two-column table without borders: on the left the issuing body's parent (upper case,
regular), the issuing body (upper case, bold) with a short rule under it, and the number
and symbol; on the right the national heading (bold upper case), the motto (bold) with a
rule as long as it, and the place and date (italic). Then the document kind and its title,
centred and bold, with a short rule under the title.

The number and the day are left blank: the records office (văn thư) writes them when the
signed report is issued. Month and year are the snapshot's `as_of` (the report is issued
after the period is frozen), blank as well when `as_of` cannot be read.
"""

from __future__ import annotations

from datetime import datetime

from docx.document import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Cm, Length, Pt
from docx.table import _Cell
from docx.text.paragraph import Paragraph

from tthc_monitor.report.docx_ooxml import (
    add_rule,
    cell_paragraph,
    estimate_width,
    fix_table,
    set_cell_margins,
    set_run_font,
    set_table_borders,
    tight,
)
from tthc_monitor.report.docx_spec import DocumentFields

__all__ = [
    "BLANK",
    "LEFT_WIDTH",
    "MOTTO",
    "NATIONAL_HEADING",
    "RIGHT_WIDTH",
    "TEXT_WIDTH",
    "add_heading",
    "add_title",
    "date_line",
    "date_words",
]

NATIONAL_HEADING = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập - Tự do - Hạnh phúc"
# Room left for a handwritten number or day: non-breaking spaces, which Word and
# LibreOffice neither collapse nor wrap.
BLANK = "\u00a0" * 8
# 16.5 cm of text width (A4, left 3 cm, right 1.5 cm): the national heading needs ~9.5 cm.
TEXT_WIDTH = Cm(16.5)
LEFT_WIDTH = Cm(6.5)
RIGHT_WIDTH = Cm(10.0)
_CELL_PAD = Cm(0.1)


def _two_digit(value: int, pad: bool) -> str:
    """Nghị định 30 writes days under 10 and months 1 and 2 with a leading zero."""
    return f"{value:02d}" if pad else str(value)


def date_words(as_of: str) -> str:
    """`ngày ␣␣␣ tháng 4 năm 2022`: month and year of `as_of`, the day left blank."""
    try:
        moment = datetime.fromisoformat(as_of)
    except ValueError:
        return f"ngày{BLANK}tháng{BLANK}năm 20{BLANK}"
    month = _two_digit(moment.month, moment.month <= 2)
    return f"ngày{BLANK}tháng {month} năm {moment.year}"


def date_line(place: str, as_of: str) -> str:
    """`Quảng Trị, ngày ␣␣␣ tháng 4 năm 2022` (italic, under the motto)."""
    return f"{place}, {date_words(as_of)}"


def _line(
    paragraph: Paragraph,
    text: str,
    size: float,
    *,
    bold: bool = False,
    italic: bool = False,
    before: float = 0,
) -> None:
    """Write one centred, single-spaced line of text into `paragraph`."""
    tight(paragraph, before=before)
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    set_run_font(paragraph.add_run(text), size, bold=bold, italic=italic)


def _rule(cell: _Cell, length: Length, width: Length) -> None:
    add_rule(cell.add_paragraph(), length, Length(int(width - 2 * _CELL_PAD)))


def _wrapped_width(text: str, size: float, width: Length, *, bold: bool) -> Length:
    """The widest line `text` takes in a column `width` wide (words wrap at spaces)."""
    widest = 0
    line = ""
    for word in text.split():
        trial = f"{line} {word}".strip()
        if line and estimate_width(trial, size, bold=bold) > width:
            widest = max(widest, estimate_width(line, size, bold=bold))
            line = word
        else:
            line = trial
    return Length(max(widest, estimate_width(line, size, bold=bold)))


def add_heading(document: Document, fields: DocumentFields, as_of: str) -> None:
    # Two rows, so the number line and the date line share a baseline however many lines
    # the body's name wraps to.
    table = document.add_table(rows=2, cols=2)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    set_table_borders(table, visible=False)
    set_cell_margins(table, _CELL_PAD, _CELL_PAD)
    fix_table(table, [LEFT_WIDTH, RIGHT_WIDTH])
    (left, right), (number, date) = (row.cells for row in table.rows)

    body = fields.body.upper()
    _line(cell_paragraph(left), fields.parent_body.upper(), 13)
    _line(left.add_paragraph(), body, 13, bold=True)
    # The rule under the body's name: a third to a half of its (widest) line.
    text_width = Length(int(LEFT_WIDTH - 2 * _CELL_PAD))
    _rule(left, Length(int(_wrapped_width(body, 13, text_width, bold=True) * 0.4)), LEFT_WIDTH)
    _line(cell_paragraph(number), f"Số:{BLANK}/{fields.symbol}", 13, before=6)

    _line(cell_paragraph(right), NATIONAL_HEADING, 12, bold=True)
    _line(right.add_paragraph(), MOTTO, 13, bold=True)
    # The rule under the motto is as long as the motto itself.
    _rule(right, estimate_width(MOTTO, 13, bold=True), RIGHT_WIDTH)
    _line(cell_paragraph(date), date_line(fields.place, as_of), 13, italic=True, before=6)


def add_title(document: Document, kind: str, title: str, period: str | None) -> None:
    """`BÁO CÁO` over the title (bold, centred), the period under it, a short rule."""
    _line(document.add_paragraph(), kind.upper(), 14, bold=True, before=18)
    _line(document.add_paragraph(), title, 14, bold=True)
    if period:
        _line(document.add_paragraph(), period, 13, italic=True)
    rule = document.add_paragraph()
    add_rule(rule, Length(int(_wrapped_width(title, 14, TEXT_WIDTH, bold=True) * 0.4)), TEXT_WIDTH)
    rule.paragraph_format.space_after = Pt(12)
