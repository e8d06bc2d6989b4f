"""`bao-cao.docx`: the report as an administrative document ready to sign, byte-identical per input.

Laid out as Nghị định 30/2020/NĐ-CP (Phụ lục I) sets out a văn bản hành chính: A4,
margins top and bottom 2 cm, left 3 cm, right 1.5 cm; Times New Roman 13 pt; the heading
table (`docx_heading`), the document kind and title, the narrative (justified, first-line
indent 1 cm), the ending with recipients and signature (`docx_signature`), then the
appendices as tables (`docx_tables`). Page numbers are centred at the top from page 2.
Core properties carry the snapshot's `as_of` instead of the clock, and the package is
rewritten with fixed zip entry times (`zipfix`).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import UTC, datetime

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Cm, Pt

from tthc_monitor.report.docx_heading import BLANK, add_heading, add_title, date_words
from tthc_monitor.report.docx_ooxml import FONT_NAME, add_page_number, set_run_font
from tthc_monitor.report.docx_signature import add_signature
from tthc_monitor.report.docx_spec import DocumentFields, DocumentSpec, document_fields
from tthc_monitor.report.docx_tables import add_appendices
from tthc_monitor.report.model import Report
from tthc_monitor.report.narrative_blocks import Block
from tthc_monitor.report.vnformat import format_month
from tthc_monitor.report.zipfix import normalize_zip

__all__ = ["FONT_NAME", "attached_line", "docx_bytes"]

BODY_SIZE = 13.0
_FALLBACK_TIME = datetime(2000, 1, 1, tzinfo=UTC)


def _timestamp(as_of: str) -> datetime:
    try:
        moment = datetime.fromisoformat(as_of)
    except ValueError:
        return _FALLBACK_TIME
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=0)


def _setup(document: DocxDocument) -> None:
    normal = document.styles["Normal"]
    normal.font.name = FONT_NAME
    normal.font.size = Pt(BODY_SIZE)
    # python-docx sets only the Latin font; the East Asian and complex-script slots would
    # otherwise fall back to the template's theme fonts.
    fonts = normal.element.get_or_add_rPr().get_or_add_rFonts()
    for key in ("w:eastAsia", "w:cs"):
        fonts.set(qn(key), FONT_NAME)
    section = document.sections[0]
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    section.top_margin = section.bottom_margin = Cm(2)
    section.left_margin, section.right_margin = Cm(3), Cm(1.5)
    section.header_distance = Cm(1)
    # Nghị định 30: page numbers centred in the top margin, none on the first page.
    section.different_first_page_header_footer = True
    add_page_number(section.header.paragraphs[0], BODY_SIZE)


def _paragraph(document: DocxDocument, block: Block, *, keep_with_next: bool) -> None:
    paragraph = document.add_paragraph()
    fmt = paragraph.paragraph_format
    fmt.space_before = Pt(0)
    fmt.space_after = Pt(6)
    fmt.line_spacing = 1.1
    paragraph.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    fmt.first_line_indent = Cm(1)
    heading = block.kind in ("heading", "subheading")
    fmt.keep_with_next = heading or keep_with_next
    size = 11.0 if block.kind == "note" else BODY_SIZE
    for span in block.spans:
        set_run_font(
            paragraph.add_run(span.text),
            size,
            bold=heading or span.bold,
            italic=block.kind in ("note", "subheading"),
        )


def attached_line(fields: DocumentFields, issuer: str, as_of: str) -> str:
    """`(Kèm theo Báo cáo số ␣␣/BC-TTPVHCC ngày ␣␣ tháng 4 năm 2022 của …)` for appendices."""
    return f"(Kèm theo Báo cáo số{BLANK}/{fields.symbol} {date_words(as_of)} của {issuer})"


def docx_bytes(
    blocks: Sequence[Block], report: Report, document_spec: DocumentSpec | None
) -> bytes:
    """The signed report's bytes: the same blocks, report and spec give the same bytes."""
    fields = document_fields(document_spec, province=report.province, issuer=report.issuer)
    first = {b.kind: b.text for b in blocks if b.kind in ("title", "subtitle", "period")}
    title = first.get(
        "subtitle", f"Kết quả giải quyết TTHC tháng {format_month(report.period.name)}"
    )
    document = Document()
    _setup(document)
    add_heading(document, fields, report.as_of)
    add_title(document, first.get("title", "Báo cáo"), title, first.get("period"))
    body = [b for b in blocks if b.kind not in ("title", "subtitle", "period")]
    for i, block in enumerate(body):
        # The last two paragraphs go with the ending: a signature never stands alone on a page.
        _paragraph(document, block, keep_with_next=i >= len(body) - 2)
    add_signature(document, fields)
    add_appendices(document, report, attached_line(fields, report.issuer, report.as_of))
    props = document.core_properties
    stamp = _timestamp(report.as_of)
    props.title = f"Báo cáo {title[:1].lower()}{title[1:]}"
    props.author = report.issuer
    props.last_modified_by = "TTHC Monitor"
    props.created = props.modified = props.last_printed = stamp
    props.revision = 1
    buffer = io.BytesIO()
    document.save(buffer)
    return normalize_zip(buffer.getvalue())
