"""Low-level WordprocessingML python-docx has no API for: rules, borders, fixed tables.

Every helper writes plain XML attributes computed from its arguments, nothing from the
clock or a random source, so the document stays a function of the report.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Emu, Length, Pt
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph
from docx.text.run import Run
from lxml import etree

__all__ = [
    "FONT_NAME",
    "add_page_number",
    "add_rule",
    "cell_paragraph",
    "estimate_width",
    "fix_table",
    "repeat_as_header",
    "set_cell_margins",
    "set_run_font",
    "set_table_borders",
    "tight",
]

FONT_NAME = "Times New Roman"

# Advance widths (1/1000 em) of Times Roman and Times Bold, the Adobe metrics that Times New
# Roman and Liberation Serif share. Used to size the rules drawn under the heading lines
# (Nghị định 30 ties their length to the text above); unknown characters count as 500.
_REGULAR = dict(
    zip(
        " -,.:;/()ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
        [250, 333, 250, 250, 278, 278, 278, 333, 333]
        + [722, 667, 667, 722, 611, 556, 722, 722, 333, 389, 722, 611, 889]
        + [722, 722, 556, 722, 667, 556, 611, 722, 722, 944, 722, 722, 611]
        + [444, 500, 444, 500, 444, 333, 500, 500, 278, 278, 500, 278, 778]
        + [500, 500, 500, 500, 333, 389, 278, 500, 500, 722, 500, 500, 444]
        + [500] * 10,
        strict=True,
    )
)
_BOLD = dict(
    zip(
        " -,.:;/()ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
        [250, 333, 250, 250, 333, 333, 278, 333, 333]
        + [722, 667, 722, 722, 667, 611, 778, 778, 389, 500, 778, 667, 944]
        + [722, 778, 611, 778, 722, 556, 667, 722, 722, 1000, 722, 722, 667]
        + [500, 556, 444, 556, 444, 333, 500, 556, 278, 333, 556, 278, 833]
        + [556, 500, 556, 556, 444, 389, 333, 556, 500, 722, 500, 500, 444]
        + [500] * 10,
        strict=True,
    )
)


def _base(char: str) -> str:
    """The letter under Vietnamese diacritics (`ộ` -> `o`, `Đ` -> `D`): same advance."""
    if char in "Đđ":
        return "D" if char == "Đ" else "d"
    return unicodedata.normalize("NFD", char)[0]


def estimate_width(text: str, size: float, *, bold: bool = False) -> Length:
    """The printed width of one line of `text` at `size` points (an estimate from metrics)."""
    table = _BOLD if bold else _REGULAR
    units = sum(table.get(_base(c), 500) for c in text)
    return Pt(units * size / 1000)


def set_run_font(run: Run, size: float, *, bold: bool = False, italic: bool = False) -> None:
    run.font.name = FONT_NAME
    run.font.size = Pt(size)
    run.font.bold = bold
    run.font.italic = italic


def tight(paragraph: Paragraph, *, before: float = 0, after: float = 0) -> Paragraph:
    """Single-spaced, with the given space before/after (points)."""
    fmt = paragraph.paragraph_format
    fmt.space_before, fmt.space_after = Pt(before), Pt(after)
    fmt.line_spacing = 1.0
    return paragraph


# The pPr children that come after pBdr in the schema.
_AFTER_PBDR = tuple(
    f"w:{name}"
    for name in [
        "shd",
        "tabs",
        "suppressAutoHyphens",
        "kinsoku",
        "wordWrap",
        "overflowPunct",
        "topLinePunct",
        "autoSpaceDE",
        "autoSpaceDN",
        "bidi",
        "adjustRightInd",
        "snapToGrid",
        "spacing",
        "ind",
        "contextualSpacing",
        "mirrorIndents",
        "suppressOverlap",
        "jc",
        "textDirection",
        "textAlignment",
        "textboxTightWrap",
        "outlineLvl",
        "divId",
        "cnfStyle",
        "rPr",
        "sectPr",
        "pPrChange",
    ]
)


def add_rule(paragraph: Paragraph, length: Length, available: Length) -> None:
    """Turn an empty paragraph into a centred horizontal rule `length` long.

    The rule is the paragraph's top border; its indents shorten it to `length` inside a
    text width of `available`. The paragraph itself is 1 pt high, so it adds no line.
    """
    side = Emu(max(int((available - length) / 2), 0))
    fmt = paragraph.paragraph_format
    fmt.left_indent = fmt.right_indent = side
    # A little air between the text and the rule, so it does not read as an underline.
    fmt.space_before, fmt.space_after = Pt(4), Pt(0)
    fmt.line_spacing = Pt(1)
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    ppr = paragraph._p.get_or_add_pPr()
    borders = OxmlElement("w:pBdr")
    top = OxmlElement("w:top")
    for key, value in (("w:val", "single"), ("w:sz", "6"), ("w:space", "1"), ("w:color", "000000")):
        top.set(qn(key), value)
    borders.append(top)
    # pBdr must precede spacing/ind/jc in pPr (schema order), or Word rejects the file.
    ppr.insert_element_before(borders, *_AFTER_PBDR)


_TBLPR_ORDER = (
    "tblStyle",
    "tblpPr",
    "tblOverlap",
    "bidiVisual",
    "tblStyleRowBandSize",
    "tblStyleColBandSize",
    "tblW",
    "jc",
    "tblCellSpacing",
    "tblInd",
    "tblBorders",
    "shd",
    "tblLayout",
    "tblCellMar",
    "tblLook",
)


def _put_table_property(table: Table, element: etree._Element) -> None:
    """Replace or add one child of tblPr, keeping the schema's order (Word insists on it)."""
    tbl_pr = table._tbl.tblPr
    for old in tbl_pr.findall(element.tag):
        tbl_pr.remove(old)
    tbl_pr.append(element)
    rank = {qn(f"w:{name}"): i for i, name in enumerate(_TBLPR_ORDER)}
    children = sorted(tbl_pr, key=lambda child: rank.get(child.tag, len(rank)))
    for child in children:
        tbl_pr.remove(child)
        tbl_pr.append(child)


def set_table_borders(table: Table, *, visible: bool) -> None:
    """Thin single borders on every cell edge, or none (the heading and ending tables)."""
    element = OxmlElement("w:tblBorders")
    for side in ("top", "left", "bottom", "right", "insideH", "insideV"):
        edge = OxmlElement(f"w:{side}")
        if visible:
            for key, value in (("w:val", "single"), ("w:sz", "4"), ("w:space", "0")):
                edge.set(qn(key), value)
            edge.set(qn("w:color"), "000000")
        else:
            edge.set(qn("w:val"), "nil")
        element.append(edge)
    _put_table_property(table, element)


def set_cell_margins(table: Table, left: Length, right: Length) -> None:
    margins = OxmlElement("w:tblCellMar")
    for side, value in (("left", left), ("right", right)):
        edge = OxmlElement(f"w:{side}")
        edge.set(qn("w:w"), str(int(value.twips)))
        edge.set(qn("w:type"), "dxa")
        margins.append(edge)
    _put_table_property(table, margins)


def fix_table(table: Table, widths: Sequence[Length]) -> None:
    """Fixed layout with these column widths, so Word and LibreOffice lay it out alike."""
    table.autofit = False
    layout = OxmlElement("w:tblLayout")
    layout.set(qn("w:type"), "fixed")
    _put_table_property(table, layout)
    total = OxmlElement("w:tblW")
    total.set(qn("w:w"), str(sum(int(w.twips) for w in widths)))
    total.set(qn("w:type"), "dxa")
    _put_table_property(table, total)
    for column, width in zip(table.columns, widths, strict=True):
        column.width = width
    for row in table.rows:
        for cell, width in zip(row.cells, widths, strict=True):
            cell.width = width


def repeat_as_header(table: Table, rows: int) -> None:
    """The first `rows` rows repeat at the top of every page the table runs onto."""
    for row in table.rows[:rows]:
        tr_pr = row._tr.get_or_add_trPr()
        header = OxmlElement("w:tblHeader")
        tr_pr.append(header)


def cell_paragraph(cell: _Cell) -> Paragraph:
    """The cell's first (empty) paragraph, single-spaced."""
    return tight(cell.paragraphs[0])


def add_page_number(paragraph: Paragraph, size: float) -> None:
    """A PAGE field: the page number, centred in the page heading (Nghị định 30)."""
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), "PAGE")
    run = OxmlElement("w:r")
    props = OxmlElement("w:rPr")
    fonts = OxmlElement("w:rFonts")
    for key in ("w:ascii", "w:hAnsi", "w:cs"):
        fonts.set(qn(key), FONT_NAME)
    props.append(fonts)
    for tag in ("w:sz", "w:szCs"):
        el = OxmlElement(tag)
        el.set(qn("w:val"), str(int(size * 2)))
        props.append(el)
    run.append(props)
    text = OxmlElement("w:t")
    text.text = "1"
    run.append(text)
    field.append(run)
    paragraph._p.append(field)
