"""Narrative paragraphs on online payment of fees (Phụ lục 05 and 06)."""

from __future__ import annotations

from tthc_monitor.report.model import Report, Row, Table
from tthc_monitor.report.narrative_blocks import Block, parse_block
from tthc_monitor.report.narrative_figures import n, printed

__all__ = ["fee_blocks"]


def fee_blocks(report: Report) -> list[Block]:
    pl5, pl6a, pl6b, pl6c = (report.table(t) for t in ("pl5", "pl6a", "pl6b", "pl6c"))
    t5, t6a, t6b, t6c = pl5.total_row, pl6a.total_row, pl6b.total_row, pl6c.total_row

    def payments(table: Table, row: Row, key: str) -> str:
        return (
            f"{n(table.count(row, 'paid_national_portal'))} trong "
            f"{n(table.count(row, 'fee_dossiers'))} hồ sơ có thu phí, lệ phí được thanh toán "
            f"trực tuyến qua Cổng DVC quốc gia ({printed(table.rate(row, key))})"
        )

    def procedures(table: Table, row: Row, key: str) -> str:
        return (
            f"{n(table.count(row, 'online_payment_procedures'))} trong "
            f"{n(table.count(row, 'fee_procedures'))} TTHC có phí, lệ phí đã triển khai thanh "
            f"toán trực tuyến ({printed(table.rate(row, key))})"
        )

    return [
        parse_block("subheading", "- Về thanh toán trực tuyến qua Cổng Dịch vụ công quốc gia"),
        parse_block(
            "paragraph",
            "Các sở, ban, ngành cấp tỉnh: "
            f"{procedures(pl5, t5, 'online_payment_procedure_rate_pct')}; "
            f"{payments(pl5, t5, 'online_payment_rate_pct')} (Phụ lục 05).",
        ),
        parse_block(
            "paragraph",
            f"UBND các huyện, thành phố, thị xã: {procedures(pl6a, t6a, 'rate_pct')}; "
            f"{payments(pl6b, t6b, 'rate_pct')} (Phụ lục 06, mục 1 và 2).",
        ),
        parse_block(
            "paragraph",
            "Nghĩa vụ tài chính lĩnh vực Đất đai: "
            f"{payments(pl6c, t6c, 'rate_pct')} (Phụ lục 06, mục 3).",
        ),
    ]
