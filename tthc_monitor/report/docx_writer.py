"""`bao-cao.docx`: the narrative as a Word document (python-docx), byte-identical per input.

Times New Roman 13 pt, justified paragraphs with a first-line indent, as Vietnamese
administrative documents are set. Core properties carry the snapshot's `as_of` instead of
the clock, and the package is rewritten with fixed zip entry times.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import UTC, datetime

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Cm, Pt

from tthc_monitor.report.narrative_blocks import Block
from tthc_monitor.report.zipfix import normalize_zip

__all__ = ["docx_bytes"]

FONT_NAME = "Times New Roman"
_FALLBACK_TIME = datetime(2000, 1, 1, tzinfo=UTC)


def _timestamp(as_of: str) -> datetime:
    try:
        moment = datetime.fromisoformat(as_of)
    except ValueError:
        return _FALLBACK_TIME
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=0)


def docx_bytes(blocks: Sequence[Block], *, title: str, author: str, as_of: str) -> bytes:
    document = Document()
    normal = document.styles["Normal"]
    normal.font.name = FONT_NAME
    normal.font.size = Pt(13)
    section = document.sections[0]
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    section.top_margin = section.bottom_margin = Cm(2)
    section.left_margin, section.right_margin = Cm(3), Cm(2)
    for block in blocks:
        paragraph = document.add_paragraph()
        fmt = paragraph.paragraph_format
        fmt.space_after = Pt(6)
        bold = block.kind in ("title", "subtitle", "heading", "subheading")
        italic = block.kind in ("period", "note", "subheading")
        if block.kind in ("title", "subtitle", "period"):
            paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        else:
            paragraph.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
            fmt.first_line_indent = Cm(1)
        for span in block.spans:
            run = paragraph.add_run(span.text)
            run.bold = bold or span.bold
            run.italic = italic
            if block.kind == "title":
                run.font.size = Pt(14)
            elif block.kind == "note":
                run.font.size = Pt(11)
    props = document.core_properties
    stamp = _timestamp(as_of)
    props.title = title
    props.author = author
    props.last_modified_by = "TTHC Monitor"
    props.created = props.modified = props.last_printed = stamp
    props.revision = 1
    buffer = io.BytesIO()
    document.save(buffer)
    return normalize_zip(buffer.getvalue())
