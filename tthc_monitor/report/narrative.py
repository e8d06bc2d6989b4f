"""The narrative of section I.2, drafted in Vietnamese from the laid-out appendices.

Every figure is read from the appendix tables (so the text and the tables cannot
disagree) and every ratio names what it is a ratio of: "3.823 hồ sơ quá hạn, bằng 8,9% số
hồ sơ đã giải quyết (43.138)". The seed's "tỷ lệ hồ sơ quá hạn chiếm 9,7%" was late ÷
(early + on time) presented as a share of resolved, and its "chiếm 220%" was late ÷ on
time; neither mistake can be made here because each sentence states its denominator.

Rounding: a ratio that an appendix prints is quoted as printed there (e.g. `16,89%`); any
other ratio has one decimal, half-up (`8,9%`). Units are named by the profile's narrative
rule: the `top` highest and lowest by a rate, among units whose denominator reaches
`min_denominator`, exact rates compared, ties in print order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal, TypeVar

from tthc_monitor.report.layout import Rate, Report, Row, Table, Text
from tthc_monitor.report.profile import NarrativeSpec
from tthc_monitor.report.rates import Rounding, percent
from tthc_monitor.report.vnformat import (
    format_date_short,
    format_int,
    format_month,
    format_percent,
)

__all__ = ["Block", "Span", "build_narrative", "ratio_text"]

_T = TypeVar("_T")

BlockKind = Literal["title", "subtitle", "period", "heading", "subheading", "paragraph", "note"]


@dataclass(frozen=True)
class Span:
    text: str
    bold: bool = False


@dataclass(frozen=True)
class Block:
    kind: BlockKind
    spans: tuple[Span, ...]

    @property
    def text(self) -> str:
        return "".join(s.text for s in self.spans)


def _block(kind: BlockKind, text: str) -> Block:
    """A block from text where `**…**` marks bold spans."""
    parts = text.split("**")
    spans = tuple(Span(part, bold=i % 2 == 1) for i, part in enumerate(parts) if part)
    return Block(kind, spans)


def n(value: int) -> str:
    return format_int(value)


def ratio_text(numerator: int, denominator: int) -> str:
    """`8,9%`: one decimal, half-up; `–` when the denominator is 0 (no ratio exists)."""
    value = percent(numerator, denominator, 1, Rounding.HALF_UP)
    return "–" if value is None else format_percent(value)


def _printed(rate: Rate) -> str:
    return rate.text + "%"


# --------------------------------------------------------------------------- ranking


@dataclass(frozen=True)
class _Ranked:
    name: str
    numerator: int
    denominator: int
    shown: str  # the rate as the sentence prints it


def _name(table: Table, row: Row) -> str:
    cell = table.cell(row, "unit_name")
    return cell.text if isinstance(cell, Text) else ""


def _extremes(
    table: Table,
    rows: Sequence[Row],
    ratio: Callable[[Row], tuple[int, int]],
    shown: Callable[[Row], str],
    spec: NarrativeSpec,
) -> tuple[list[_Ranked], list[_Ranked]]:
    """(highest, lowest) units by the exact ratio, among units whose denominator reaches
    `spec.min_denominator`; a unit named among the highest is not named among the lowest."""
    eligible = []
    for position, row in enumerate(rows):
        numerator, denominator = ratio(row)
        if denominator >= spec.min_denominator:
            ranked = _Ranked(_name(table, row), numerator, denominator, shown(row))
            eligible.append((Fraction(numerator, denominator), position, ranked))
    high = _first(sorted(eligible, key=lambda e: (-e[0], e[1])), spec.top)
    rest = [e for e in eligible if e[2] not in high]
    low = _first(sorted(rest, key=lambda e: (e[0], e[1])), spec.top)
    return high, low


def _first(ordered: Sequence[tuple[Fraction, int, _T]], top: int) -> list[_T]:
    """The first `top`, and every further unit tied with the last of them: naming three of
    six units at 100% would suggest the other three did worse."""
    chosen = list(ordered[:top])
    for entry in ordered[top:]:
        if not chosen or entry[0] != chosen[-1][0]:
            break
        chosen.append(entry)
    return [item for _, _, item in chosen]


def _list(items: Sequence[_Ranked]) -> str:
    return "; ".join(
        f"{r.name} ({r.shown}; {n(r.numerator)}/{n(r.denominator)} hồ sơ)" for r in items
    )


def _extremes_sentence(
    what: str,
    high: Sequence[_Ranked],
    low: Sequence[_Ranked],
    spec: NarrativeSpec,
    pointer: str = "",
) -> str | None:
    if not high:
        return None
    text = f"Đơn vị có {what} cao nhất: {_list(high)}."
    if low:
        text += f" Thấp nhất: {_list(low)}."
    scope = f"Xét các đơn vị có từ {n(spec.min_denominator)} hồ sơ trở lên"
    return text + (f" ({scope}; {pointer}.)" if pointer else f" ({scope}.)")


def _rate_extremes(
    table: Table, key: str, what: str, spec: NarrativeSpec, pointer: str = ""
) -> str | None:
    def ratio(row: Row) -> tuple[int, int]:
        rate = table.rate(row, key)
        return rate.numerator, rate.denominator

    def shown(row: Row) -> str:
        return _printed(table.rate(row, key))

    high, low = _extremes(table, table.unit_rows, ratio, shown, spec)
    return _extremes_sentence(what, high, low, spec, pointer)


# --------------------------------------------------------------------------- sections


def _reception(report: Report, spec: NarrativeSpec) -> list[Block]:
    pl1, pl3 = report.table("pl1"), report.table("pl3")
    total = pl3.total_row
    received = pl3.count(total, "total")
    online = pl3.count(total, "received_online")
    direct = pl3.count(total, "received_direct")
    carried = pl3.count(total, "carried_over")
    interagency = pl3.count(total, "received_interagency")
    new = online + direct
    blocks = [
        _block("subheading", "- Về tiếp nhận hồ sơ và dịch vụ công trực tuyến"),
        _block(
            "paragraph",
            f"Trong kỳ, các cơ quan, đơn vị có **{n(received)}** hồ sơ nhận giải quyết, gồm: "
            f"{n(carried)} hồ sơ kỳ trước chuyển qua; {n(online)} hồ sơ mới tiếp nhận trực "
            f"tuyến; {n(direct)} hồ sơ mới tiếp nhận trực tiếp hoặc qua dịch vụ bưu chính; "
            f"{n(interagency)} hồ sơ tiếp nhận liên thông.",
        ),
        _block(
            "paragraph",
            f"Hồ sơ tiếp nhận trực tuyến ({n(online)}) bằng "
            f"{_printed(pl1.rate(pl1.total_row, 'online_rate_pct'))} tổng số hồ sơ nhận giải "
            f"quyết (cột (7) Phụ lục 1) và bằng {ratio_text(online, new)} số hồ sơ mới tiếp "
            f"nhận trong kỳ (trực tuyến và trực tiếp: {n(new)} hồ sơ).",
        ),
    ]
    sentence = _rate_extremes(
        pl1, "online_rate_pct", "tỷ lệ hồ sơ tiếp nhận trực tuyến", spec, "chi tiết tại Phụ lục 1"
    )
    if sentence:
        blocks.append(_block("paragraph", sentence))
    return blocks


def _digitization(report: Report, spec: NarrativeSpec) -> list[Block]:
    pl2a, pl2b = report.table("pl2a"), report.table("pl2b")
    a, b = pl2a.total_row, pl2b.total_row
    received = pl2a.count(a, "received")
    fully = pl2a.count(a, "fully_digitized")
    some = pl2a.count(a, "with_components_digitized")
    resolved = pl2b.count(b, "resolved")
    results = pl2b.count(b, "results_digitized")
    blocks = [
        _block("subheading", "- Về số hoá hồ sơ, kết quả giải quyết TTHC"),
        _block(
            "paragraph",
            f"Số hoá thành phần hồ sơ: trong {n(received)} hồ sơ tiếp nhận thuộc diện số hoá, "
            f"{n(some)} hồ sơ có số hoá thành phần hồ sơ, trong đó {n(fully)} hồ sơ số hoá "
            f"đầy đủ, bằng **{_printed(pl2a.rate(a, 'full_rate_pct'))}** số hồ sơ tiếp nhận "
            f"thuộc diện số hoá; {n(pl2a.count(a, 'not_digitized'))} hồ sơ chưa số hoá "
            f"(Phụ lục 2, mục 1).",
        ),
        _block(
            "paragraph",
            f"Số hoá kết quả giải quyết: {n(results)} trong {n(resolved)} hồ sơ đã giải quyết "
            f"thuộc diện số hoá kết quả, bằng **{_printed(pl2b.rate(b, 'rate_pct'))}** "
            f"(Phụ lục 2, mục 2).",
        ),
    ]
    for table, key, what in (
        (pl2a, "full_rate_pct", "tỷ lệ số hoá đầy đủ thành phần hồ sơ"),
        (pl2b, "rate_pct", "tỷ lệ số hoá kết quả"),
    ):
        sentence = _rate_extremes(table, key, what, spec)
        if sentence:
            blocks.append(_block("paragraph", sentence))
    return blocks


def _resolution(report: Report, spec: NarrativeSpec) -> list[Block]:
    pl3 = report.table("pl3")
    total = pl3.total_row
    resolved = pl3.count(total, "resolved")
    early = pl3.count(total, "resolved_early")
    on_time = pl3.count(total, "resolved_on_time")
    late = pl3.count(total, "resolved_late")
    timely = early + on_time
    blocks = [
        _block("subheading", "- Về kết quả giải quyết hồ sơ TTHC"),
        _block(
            "paragraph",
            f"Đã giải quyết **{n(resolved)}** hồ sơ, gồm {n(early)} hồ sơ trước hạn, "
            f"{n(on_time)} hồ sơ đúng hạn và {n(late)} hồ sơ quá hạn. Hồ sơ giải quyết trước "
            f"hạn và đúng hạn ({n(timely)}) bằng {ratio_text(timely, resolved)} số hồ sơ đã "
            f"giải quyết; **{n(late)} hồ sơ quá hạn, bằng {ratio_text(late, resolved)} số hồ "
            f"sơ đã giải quyết ({n(resolved)})**.",
        ),
    ]

    def ratio(row: Row) -> tuple[int, int]:
        return (
            pl3.count(row, "resolved_early") + pl3.count(row, "resolved_on_time"),
            pl3.count(row, "resolved"),
        )

    def shown(row: Row) -> str:
        return ratio_text(*ratio(row))

    high, low = _extremes(pl3, pl3.unit_rows, ratio, shown, spec)
    sentence = _extremes_sentence(
        "tỷ lệ hồ sơ giải quyết trước hạn và đúng hạn trên số hồ sơ đã giải quyết",
        high,
        low,
        spec,
    )
    if sentence:
        blocks.append(_block("paragraph", sentence))
    most_late = sorted(
        (r for r in pl3.unit_rows if pl3.count(r, "resolved_late") > 0),
        key=lambda r: -pl3.count(r, "resolved_late"),
    )
    if most_late:
        counted = [(Fraction(pl3.count(r, "resolved_late")), i, r) for i, r in enumerate(most_late)]
        named = [
            f"{_name(pl3, r)} ({n(pl3.count(r, 'resolved_late'))} hồ sơ)"
            for r in _first(counted, spec.top)
        ]
        blocks.append(
            _block("paragraph", "Đơn vị có nhiều hồ sơ quá hạn nhất: " + "; ".join(named) + ".")
        )
    apologized = pl3.count(total, "apologized")
    extended = pl3.count(total, "extended")
    blocks.append(
        _block(
            "paragraph",
            f"Các cơ quan, đơn vị đã thực hiện {n(apologized)} lượt xin lỗi người dân, trong "
            f"khi có {n(late)} hồ sơ quá hạn; {n(extended)} lượt gia hạn. "
            "(Chi tiết tại Phụ lục 3.)",
        )
    )
    return blocks


def _land(report: Report) -> list[Block]:
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
        _block("subheading", "- Về hồ sơ liên thông lĩnh vực Đất đai"),
        _block("paragraph", text),
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
    blocks.append(_block("paragraph", text + " (Chi tiết tại Phụ lục 4.)"))
    return blocks


def _fees(report: Report) -> list[Block]:
    pl5, pl6a, pl6b, pl6c = (report.table(t) for t in ("pl5", "pl6a", "pl6b", "pl6c"))
    t5, t6a, t6b, t6c = pl5.total_row, pl6a.total_row, pl6b.total_row, pl6c.total_row

    def payments(table: Table, row: Row, key: str) -> str:
        return (
            f"{n(table.count(row, 'paid_national_portal'))} trong "
            f"{n(table.count(row, 'fee_dossiers'))} hồ sơ có thu phí, lệ phí được thanh toán "
            f"trực tuyến qua Cổng DVC quốc gia ({_printed(table.rate(row, key))})"
        )

    def procedures(table: Table, row: Row, key: str) -> str:
        return (
            f"{n(table.count(row, 'online_payment_procedures'))} trong "
            f"{n(table.count(row, 'fee_procedures'))} TTHC có phí, lệ phí đã triển khai thanh "
            f"toán trực tuyến ({_printed(table.rate(row, key))})"
        )

    return [
        _block("subheading", "- Về thanh toán trực tuyến qua Cổng Dịch vụ công quốc gia"),
        _block(
            "paragraph",
            "Các sở, ban, ngành cấp tỉnh: "
            f"{procedures(pl5, t5, 'online_payment_procedure_rate_pct')}; "
            f"{payments(pl5, t5, 'online_payment_rate_pct')} (Phụ lục 05).",
        ),
        _block(
            "paragraph",
            f"UBND các huyện, thành phố, thị xã: {procedures(pl6a, t6a, 'rate_pct')}; "
            f"{payments(pl6b, t6b, 'rate_pct')} (Phụ lục 06, mục 1 và 2).",
        ),
        _block(
            "paragraph",
            "Nghĩa vụ tài chính lĩnh vực Đất đai: "
            f"{payments(pl6c, t6c, 'rate_pct')} (Phụ lục 06, mục 3).",
        ),
    ]


def build_narrative(report: Report, spec: NarrativeSpec) -> list[Block]:
    """The blocks of `bao-cao.md` / `bao-cao.docx`, in order."""
    month = format_month(report.period.name)
    source = f"Số liệu: snapshot kỳ {report.period.name}"
    if report.version:
        source += f", phiên bản {report.version}"
    if report.as_of:
        source += f", chốt lúc {report.as_of}"
    return [
        _block("title", "BÁO CÁO"),
        _block(
            "subtitle",
            "Kết quả tiếp nhận, trả kết quả giải quyết TTHC trên Hệ thống thông tin một cửa "
            f"điện tử tỉnh {report.province} tháng {month}",
        ),
        _block("period", report.period.text),
        _block(
            "heading",
            "2. Kết quả tiếp nhận, trả kết quả giải quyết TTHC trên Hệ thống thông tin một cửa "
            "điện tử tỉnh và Cổng dịch vụ công tỉnh",
        ),
        *_reception(report, spec),
        *_digitization(report, spec),
        *_resolution(report, spec),
        *_land(report),
        *_fees(report),
        _block(
            "note",
            f"{source}. Mỗi tỷ lệ nêu rõ mẫu số; tỷ lệ lấy từ phụ lục được ghi như phụ lục in, "
            "các tỷ lệ khác làm tròn một chữ số thập phân.",
        ),
    ]


def narrative_markdown(blocks: Sequence[Block]) -> str:
    lines: list[str] = []
    prefix = {"title": "# ", "heading": "## ", "subheading": "### "}
    for block in blocks:
        text = "".join(f"**{s.text}**" if s.bold else s.text for s in block.spans)
        if block.kind in prefix:
            text = prefix[block.kind] + block.text
        elif block.kind == "subtitle":
            text = f"**{block.text}**"
        elif block.kind in ("period", "note"):
            text = f"*{block.text}*"
        lines += [text, ""]
    return "\n".join(lines).rstrip("\n") + "\n"
