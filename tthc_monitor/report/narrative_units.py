"""Narrative paragraphs on reception, digitization and resolution (Phụ lục 1–3)."""

from __future__ import annotations

from fractions import Fraction

from tthc_monitor.core import figures
from tthc_monitor.report.model import Report, Row, Table
from tthc_monitor.report.narrative_blocks import Block, parse_block
from tthc_monitor.report.narrative_figures import n, printed, ratio_text
from tthc_monitor.report.narrative_ranking import (
    extremes,
    extremes_sentence,
    first_with_ties,
    rate_extremes,
    row_name,
)
from tthc_monitor.report.profile import NarrativeSpec

__all__ = ["digitization_blocks", "reception_blocks", "resolution_blocks"]

# Each sentence names the denominator of its ratio: the seed's "tỷ lệ hồ sơ quá hạn chiếm
# 9,7%" was late ÷ (early + on time) presented as a share of resolved.


def _pl3_counts(pl3: Table, row: Row) -> dict[str, int]:
    """A Phụ lục 3 row's printed counts, under the snapshot's names (for core.figures)."""
    return {k: pl3.count(row, k) for k in (*figures.RECEIVED_PARTS, *figures.RESOLVED_PARTS)}


def reception_blocks(report: Report, spec: NarrativeSpec) -> list[Block]:
    pl1, pl3 = report.table("pl1"), report.table("pl3")
    total = pl3.total_row
    received = pl3.count(total, "total")
    counts = _pl3_counts(pl3, total)
    online, direct = counts["received_online"], counts["received_direct"]
    carried, interagency = counts["carried_over"], counts["received_interagency"]
    new = figures.online_share_of_new(counts)  # Decision 766 indicator 3.3
    blocks = [
        parse_block("subheading", "- Về tiếp nhận hồ sơ và dịch vụ công trực tuyến"),
        parse_block(
            "paragraph",
            f"Trong kỳ, các cơ quan, đơn vị có **{n(received)}** hồ sơ nhận giải quyết, gồm: "
            f"{n(carried)} hồ sơ kỳ trước chuyển qua; {n(online)} hồ sơ mới tiếp nhận trực "
            f"tuyến; {n(direct)} hồ sơ mới tiếp nhận trực tiếp hoặc qua dịch vụ bưu chính; "
            f"{n(interagency)} hồ sơ tiếp nhận liên thông.",
        ),
        parse_block(
            "paragraph",
            f"Hồ sơ tiếp nhận trực tuyến ({n(online)}) bằng "
            f"{printed(pl1.rate(pl1.total_row, 'online_rate_pct'))} tổng số hồ sơ nhận giải "
            f"quyết (cột (7) Phụ lục 1) và bằng {ratio_text(new.numerator, new.denominator)} "
            f"số hồ sơ mới tiếp nhận trong kỳ (trực tuyến và trực tiếp: {n(new.denominator)} "
            "hồ sơ).",
        ),
    ]
    sentence = rate_extremes(
        pl1, "online_rate_pct", "tỷ lệ hồ sơ tiếp nhận trực tuyến", spec, "chi tiết tại Phụ lục 1"
    )
    if sentence:
        blocks.append(parse_block("paragraph", sentence))
    return blocks


def digitization_blocks(report: Report, spec: NarrativeSpec) -> list[Block]:
    pl2a, pl2b = report.table("pl2a"), report.table("pl2b")
    a, b = pl2a.total_row, pl2b.total_row
    received = pl2a.count(a, "received")
    fully = pl2a.count(a, "fully_digitized")
    some = pl2a.count(a, "with_components_digitized")
    resolved = pl2b.count(b, "resolved")
    results = pl2b.count(b, "results_digitized")
    blocks = [
        parse_block("subheading", "- Về số hoá hồ sơ, kết quả giải quyết TTHC"),
        parse_block(
            "paragraph",
            f"Số hoá thành phần hồ sơ: trong {n(received)} hồ sơ tiếp nhận thuộc diện số hoá, "
            f"{n(some)} hồ sơ có số hoá thành phần hồ sơ, trong đó {n(fully)} hồ sơ số hoá "
            f"đầy đủ, bằng **{printed(pl2a.rate(a, 'full_rate_pct'))}** số hồ sơ tiếp nhận "
            f"thuộc diện số hoá; {n(pl2a.count(a, 'not_digitized'))} hồ sơ chưa số hoá "
            f"(Phụ lục 2, mục 1).",
        ),
        parse_block(
            "paragraph",
            f"Số hoá kết quả giải quyết: {n(results)} trong {n(resolved)} hồ sơ đã giải quyết "
            f"thuộc diện số hoá kết quả, bằng **{printed(pl2b.rate(b, 'rate_pct'))}** "
            f"(Phụ lục 2, mục 2).",
        ),
    ]
    for table, key, what in (
        (pl2a, "full_rate_pct", "tỷ lệ số hoá đầy đủ thành phần hồ sơ"),
        (pl2b, "rate_pct", "tỷ lệ số hoá kết quả"),
    ):
        sentence = rate_extremes(table, key, what, spec)
        if sentence:
            blocks.append(parse_block("paragraph", sentence))
    return blocks


def resolution_blocks(report: Report, spec: NarrativeSpec) -> list[Block]:
    pl3 = report.table("pl3")
    total = pl3.total_row
    resolved = pl3.count(total, "resolved")
    counts = _pl3_counts(pl3, total)
    early, on_time = counts["resolved_early"], counts["resolved_on_time"]
    late = counts["resolved_late"]
    timely = figures.resolved_in_time(counts)
    blocks = [
        parse_block("subheading", "- Về kết quả giải quyết hồ sơ TTHC"),
        parse_block(
            "paragraph",
            f"Đã giải quyết **{n(resolved)}** hồ sơ, gồm {n(early)} hồ sơ trước hạn, "
            f"{n(on_time)} hồ sơ đúng hạn và {n(late)} hồ sơ quá hạn. Hồ sơ giải quyết trước "
            f"hạn và đúng hạn ({n(timely)}) bằng {ratio_text(timely, resolved)} số hồ sơ đã "
            f"giải quyết; **{n(late)} hồ sơ quá hạn, bằng {ratio_text(late, resolved)} số hồ "
            f"sơ đã giải quyết ({n(resolved)})**.",
        ),
    ]

    def ratio(row: Row) -> tuple[int, int]:
        share = figures.on_time_share_of_resolved(_pl3_counts(pl3, row))
        return share.numerator, share.denominator

    def shown(row: Row) -> str:
        return ratio_text(*ratio(row))

    high, low = extremes(pl3, pl3.unit_rows, ratio, shown, spec)
    sentence = extremes_sentence(
        "tỷ lệ hồ sơ giải quyết trước hạn và đúng hạn trên số hồ sơ đã giải quyết",
        high,
        low,
        spec,
    )
    if sentence:
        blocks.append(parse_block("paragraph", sentence))
    most_late = sorted(
        (r for r in pl3.unit_rows if pl3.count(r, "resolved_late") > 0),
        key=lambda r: -pl3.count(r, "resolved_late"),
    )
    if most_late:
        counted = [(Fraction(pl3.count(r, "resolved_late")), i, r) for i, r in enumerate(most_late)]
        named = [
            f"{row_name(pl3, r)} ({n(pl3.count(r, 'resolved_late'))} hồ sơ)"
            for r in first_with_ties(counted, spec.top)
        ]
        blocks.append(
            parse_block(
                "paragraph", "Đơn vị có nhiều hồ sơ quá hạn nhất: " + "; ".join(named) + "."
            )
        )
    apologized = pl3.count(total, "apologized")
    extended = pl3.count(total, "extended")
    blocks.append(
        parse_block(
            "paragraph",
            f"Các cơ quan, đơn vị đã thực hiện {n(apologized)} lượt xin lỗi người dân, trong "
            f"khi có {n(late)} hồ sơ quá hạn; {n(extended)} lượt gia hạn. "
            "(Chi tiết tại Phụ lục 3.)",
        )
    )
    return blocks
