"""The signed report's ending (Nghị định 30/2020/NĐ-CP, Phụ lục I): recipients and signature.

A two-column table without borders: on the left "Nơi nhận:" (bold italic 12) and one line
per recipient (11), the last "- Lưu: VT, …" (the drafting unit and the number of copies
are written in by hand); on the right the signer's authority and position (bold, upper
case), room for the signature and seal, and the signer's name (bold), a dotted line to
type it on when the profile gives none.
"""

from __future__ import annotations

from docx.document import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.shared import Cm, Pt

from tthc_monitor.report.docx_ooxml import (
    cell_paragraph,
    fix_table,
    set_cell_margins,
    set_run_font,
    set_table_borders,
    tight,
)
from tthc_monitor.report.docx_spec import DocumentFields

__all__ = ["NAME_PLACEHOLDER", "add_signature", "position_lines"]

NAME_PLACEHOLDER = "…………………………"
_SIGNATURE_LINES = 5  # blank 13-pt lines: room for the signature and the seal


def position_lines(fields: DocumentFields) -> list[str]:
    """`GIÁM ĐỐC`, or `KT. GIÁM ĐỐC` over `PHÓ GIÁM ĐỐC` when a deputy signs on behalf."""
    if fields.signer_authority:
        lines = [f"{fields.signer_authority} {fields.signer_position}".upper()]
        if fields.signer_deputy_position:
            lines.append(fields.signer_deputy_position.upper())
        return lines
    return [fields.signer_position.upper()]


def add_signature(document: Document, fields: DocumentFields) -> None:
    spacer = tight(document.add_paragraph(), after=6)
    spacer.paragraph_format.keep_with_next = True
    table = document.add_table(rows=1, cols=2)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    set_table_borders(table, visible=False)
    set_cell_margins(table, Cm(0.1), Cm(0.1))
    fix_table(table, [Cm(8.0), Cm(8.5)])
    row = table.rows[0]
    # The ending stays on one page: a row that cannot break across pages.
    row._tr.get_or_add_trPr().append(OxmlElement("w:cantSplit"))
    left, right = row.cells

    heading = cell_paragraph(left)
    set_run_font(heading.add_run("Nơi nhận:"), 12, bold=True, italic=True)
    for recipient in (*fields.recipients, f"Lưu: {fields.archive}, …"):
        line = tight(left.add_paragraph())
        set_run_font(line.add_run(f"- {recipient}"), 11)

    for i, text in enumerate(position_lines(fields)):
        paragraph = cell_paragraph(right) if i == 0 else tight(right.add_paragraph())
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        set_run_font(paragraph.add_run(text), 13, bold=True)
    for _ in range(_SIGNATURE_LINES):
        blank = tight(right.add_paragraph())
        blank.paragraph_format.line_spacing = Pt(15)
    name = tight(right.add_paragraph())
    name.alignment = WD_ALIGN_PARAGRAPH.CENTER
    set_run_font(name.add_run(fields.signer_name or NAME_PLACEHOLDER), 13, bold=True)
