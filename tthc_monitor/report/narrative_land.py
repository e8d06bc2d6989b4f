"""Narrative paragraphs on land inter-agency dossiers, for Phụ lục 4's own period."""

from __future__ import annotations

from tthc_monitor.report.model import Report, Text
from tthc_monitor.report.narrative_blocks import Block, parse_block
from tthc_monitor.report.narrative_figures import n, ratio_text
from tthc_monitor.report.vnformat import format_date_short

__all__ = ["land_blocks"]

# The seed's land "chiếm 220%" was late ÷ on time; that ratio is kept, but under its own
# name, after late ÷ resolved.


def land_blocks(report: Report) -> list[Block]:
    pl4 = report.table("pl4")
    total = pl4.total_row
    received = pl4.count(total, "received_total")
    resolved = pl4.count(total, "resolved")
    on_time = pl4.count(total, "resolved_on_time")
    late = pl4.count(total, "resolved_late")
    open_ = pl4.count(total, "in_progress")
    overdue = pl4.count(total, "in_progress_overdue")
    period = report.land_period
    text = (
        f"Từ ngày {format_date_short(period.first_day)} đến ngày "
        f"{format_date_short(period.last_day)} (kỳ của Phụ lục 4), lĩnh vực Đất đai có "
        f"**{n(received)}** hồ sơ liên thông nhận giải quyết ({n(pl4.count(total, 'received_new'))}"
        f" hồ sơ tiếp nhận mới, {n(pl4.count(total, 'carried_over'))} hồ sơ tồn kỳ trước). "
        f"Đã giải quyết {n(resolved)} hồ sơ, bằng {ratio_text(resolved, received)} số hồ sơ "
        f"nhận giải quyết: đúng hạn {n(on_time)}, quá hạn {n(late)}; **hồ sơ quá hạn bằng "
        f"{ratio_text(late, resolved)} số hồ sơ đất đai đã giải quyết**"
    )
    if on_time:
        text += f" (và bằng {ratio_text(late, on_time)} số hồ sơ giải quyết đúng hạn)"
    text += (
        f". Đang giải quyết {n(open_)} hồ sơ, trong đó {n(overdue)} hồ sơ đã quá hạn, bằng "
        f"{ratio_text(overdue, open_)} số hồ sơ đang giải quyết."
    )
    rest = received - resolved - open_
    if rest > 0:
        text += (
            f" Còn {n(rest)} hồ sơ không thuộc số đã giải quyết hay đang giải quyết "
            "(rút hồ sơ hoặc trả lại)."
        )
    blocks = [
        parse_block("subheading", "- Về hồ sơ liên thông lĩnh vực Đất đai"),
        parse_block("paragraph", text),
    ]
    levels = [
        (
            "late_at_natural_resources_dept",
            "tại Sở Tài nguyên và Môi trường (gồm Chi nhánh VPĐKĐĐ)",
        ),
        ("late_at_commune", "tại cấp xã"),
        ("late_at_district", "tại cấp huyện"),
        ("late_at_tax", "tại cơ quan Thuế"),
        ("late_at_construction_dept", "tại Sở Xây dựng"),
    ]
    counted = sorted(
        ((pl4.count(total, key), label) for key, label in levels), key=lambda item: -item[0]
    )
    districts = [r for r in pl4.rows if r.kind == "subtotal"]
    worst = max(districts, key=lambda r: pl4.count(r, "resolved_late"), default=None)
    text = "Số lần trễ hạn theo nơi xử lý: " + "; ".join(
        f"{label} {n(count)}" for count, label in counted
    )
    text += " (một hồ sơ có thể trễ hạn ở nhiều nơi)."
    if worst is not None and pl4.count(worst, "resolved_late"):
        name = pl4.cell(worst, "district")
        district = name.text if isinstance(name, Text) else ""
        text += (
            f" Địa bàn có nhiều hồ sơ quá hạn nhất: {district} "
            f"({n(pl4.count(worst, 'resolved_late'))} hồ sơ)."
        )
    blocks.append(parse_block("paragraph", text + " (Chi tiết tại Phụ lục 4.)"))
    return blocks
