"""`build_narrative`: the section I.2 text, in Vietnamese, drafted from the laid-out report."""

from __future__ import annotations

from tthc_monitor.report.model import Report
from tthc_monitor.report.narrative_blocks import Block, parse_block
from tthc_monitor.report.narrative_fees import fee_blocks
from tthc_monitor.report.narrative_land import land_blocks
from tthc_monitor.report.narrative_units import (
    digitization_blocks,
    reception_blocks,
    resolution_blocks,
)
from tthc_monitor.report.profile import NarrativeSpec
from tthc_monitor.report.vnformat import format_month

__all__ = ["build_narrative"]

# Every figure is read from the appendix tables rather than the snapshots, so the text and
# the tables cannot disagree.


def build_narrative(report: Report, spec: NarrativeSpec) -> list[Block]:
    """The blocks of `bao-cao.md` / `bao-cao.docx`, in order."""
    month = format_month(report.period.name)
    source = f"Số liệu: snapshot kỳ {report.period.name}"
    if report.version:
        source += f", phiên bản {report.version}"
    if report.as_of:
        source += f", chốt lúc {report.as_of}"
    return [
        parse_block("title", "BÁO CÁO"),
        parse_block(
            "subtitle",
            "Kết quả tiếp nhận, trả kết quả giải quyết TTHC trên Hệ thống thông tin một cửa "
            f"điện tử tỉnh {report.province} tháng {month}",
        ),
        parse_block("period", report.period.text),
        parse_block(
            "heading",
            "2. Kết quả tiếp nhận, trả kết quả giải quyết TTHC trên Hệ thống thông tin một cửa "
            "điện tử tỉnh và Cổng dịch vụ công tỉnh",
        ),
        *reception_blocks(report, spec),
        *digitization_blocks(report, spec),
        *resolution_blocks(report, spec),
        *land_blocks(report),
        *fee_blocks(report),
        parse_block(
            "note",
            f"{source}. Mỗi tỷ lệ nêu rõ mẫu số; tỷ lệ lấy từ phụ lục được ghi như phụ lục in, "
            "các tỷ lệ khác làm tròn một chữ số thập phân.",
        ),
    ]
