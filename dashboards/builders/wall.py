"""The wall dashboard (tthc-wall.json): province-wide figures and every report row, for a TV.

1920x1080 in kiosk mode is 24 columns x 28 rows of 30 px (+ 8 px margins). The top four
rows hold the headline figures; the other 24 hold two tables, one line per report row:
the departments (report group I) on the left, the central agencies' branches and the
districts (groups II and III) on the right. A 24-row panel is 904 px; under its title
and column header a small-height table line is 35 px, so it has room for 23 lines.
Quảng Trị has 18 + 14 report rows: every unit is on screen at once, without paging or
scrolling. Each unit's name links to its drill-down.
"""

from __future__ import annotations

from typing import Any

from grafana_foundation_sdk.builders.dashboard import Dashboard
from grafana_foundation_sdk.cog.builder import Builder
from grafana_foundation_sdk.models import dashboard as model

from dashboards.builders.panels import (
    COUNT_STEPS,
    DUE_STEPS,
    RATE_STEPS,
    Layout,
    column,
    dashboard,
    query,
    transformation,
)
from dashboards.builders.queries import (
    LAST_APPLIED,
    ON_TIME,
    RESOLVED,
    TOTAL_IN,
    report_names,
    with_report_name,
)

# The unit drill-down, with the row's unit id as its variable (the hidden report_unit
# column of the table).
DRILL_DOWN = "/d/tthc-unit?var-report_unit=${__data.fields.report_unit}"
SORTED_BY = "Đúng hạn"

# (refId, column title, PromQL per report row, unit, decimals, colours, 0 when absent)
COLUMNS: tuple[tuple[str, str, str, str, int, Any, bool], ...] = (
    (
        "B",
        SORTED_BY,
        'max by (report_unit) (tthc_period_rate_ratio{rate="on_time"})',
        "percentunit",
        1,
        RATE_STEPS,
        False,
    ),
    (
        "C",
        "Trực tuyến",
        'max by (report_unit) (tthc_period_rate_ratio{rate="online"})',
        "percentunit",
        1,
        RATE_STEPS,
        False,
    ),
    (
        "D",
        "Số hóa TP",
        'max by (report_unit) (tthc_period_rate_ratio{rate="components_full"})',
        "percentunit",
        1,
        RATE_STEPS,
        False,
    ),
    (
        "E",
        "TT trực tuyến",
        'max by (report_unit) (tthc_period_rate_ratio{rate="online_payment"})',
        "percentunit",
        1,
        RATE_STEPS,
        False,
    ),
    (
        "F",
        "Quá hạn",
        'sum by (report_unit) (tthc_open_dossiers{state="overdue"})',
        "none",
        0,
        COUNT_STEPS,
        True,
    ),
    (
        "G",
        "Đến hạn HN",
        'sum by (report_unit) (tthc_open_dossiers{state="due_today"})',
        "none",
        0,
        DUE_STEPS,
        True,
    ),
    (
        "H",
        "Điểm 766",
        "sum by (report_unit) (tthc_index766_points)",
        "none",
        1,
        None,
        False,
    ),
)


def rows_table(lay: Layout, title: str, position: tuple[int, int, int, int], groups: str) -> Any:
    """Every report row of the groups (a regex on report_group), one line each."""
    # in_force: the rows listed for the period shown (registry versions).
    selector = f'parent="",report_group=~"{groups}",in_force="true"'
    rows = report_names(selector)
    # Query A lists the rows themselves, so a unit with no figure yet still has its line.
    targets = [query(rows, ref="A", table=True)]
    for ref, _, expr, _, _, _, zero in COLUMNS:
        named = with_report_name(f"({expr})", selector)
        if zero:
            # Counts are 0 for rows with nothing in that state (rates stay "not measured").
            named = f"{named} or 0 * {rows}"
        targets.append(query(named, ref=ref, table=True))
    columns = [
        (
            "name",
            column(
                "Đơn vị",
                width=300,
                links=[{"title": "Chi tiết đơn vị", "url": DRILL_DOWN}],
            ),
        )
    ]
    columns += [
        (f"Value #{ref}", column(display, unit=unit, decimals=decimals, steps=steps))
        for ref, display, _, unit, decimals, steps, _ in COLUMNS
    ]
    return lay.table(
        title,
        position,
        targets,
        description="Mỗi dòng một đơn vị của báo cáo tháng (kỳ hiện tại): tỷ lệ đúng hạn (PL3), "
        "trực tuyến (PL1), số hóa thành phần hồ sơ (PL2), thanh toán trực tuyến (PL5, PL6); hồ sơ "
        "đang quá hạn và đến hạn hôm nay; tổng điểm Bộ chỉ số 766. Bấm tên đơn vị để xem chi "
        "tiết. Ô trống: không có mẫu số trong kỳ.",
        columns=columns,
        hidden=("report_unit",),
        transformations=[
            transformation("merge", {}),
            transformation(
                "organize",
                {
                    "excludeByName": {"Time": True, "Value #A": True},
                    "indexByName": {"name": 0, "report_unit": 1},
                },
            ),
        ],
        sort_by=SORTED_BY,
    )


def wall() -> Dashboard:
    lay = Layout()
    panels: list[Builder[model.Panel]] = [
        lay.stat(
            "Tiếp nhận hôm nay",
            (0, 0, 3, 4),
            "sum(tthc_received_today) or vector(0)",
            description="Hồ sơ mới tiếp nhận (trực tuyến và trực tiếp) từ 0 giờ hôm nay.",
        ),
        lay.stat(
            "Trả kết quả hôm nay",
            (3, 0, 3, 4),
            "sum(tthc_resolved_today) or vector(0)",
            description="Hồ sơ đơn vị chủ trì đã trả kết quả từ 0 giờ hôm nay.",
        ),
        lay.stat(
            "Đang quá hạn",
            (6, 0, 3, 4),
            'sum(tthc_open_dossiers{state="overdue"}) or vector(0)',
            steps=COUNT_STEPS,
            description="Hồ sơ đang giải quyết đã quá hạn (không tính hồ sơ tạm dừng).",
        ),
        lay.stat(
            "Đến hạn hôm nay",
            (9, 0, 3, 4),
            'sum(tthc_open_dossiers{state="due_today"}) or vector(0)',
            steps=DUE_STEPS,
            description="Hồ sơ đang giải quyết có hạn trả trong hôm nay.",
        ),
        lay.stat(
            "Đúng hạn toàn tỉnh (kỳ)",
            (12, 0, 3, 4),
            f'sum(tthc_period_figure{{figure=~"{ON_TIME}"}})'
            f' / sum(tthc_period_figure{{figure=~"{RESOLVED}"}})',
            unit="percentunit",
            decimals=1,
            steps=RATE_STEPS,
            no_value="Không có",
            description="Hồ sơ giải quyết trước và đúng hạn / hồ sơ đã giải quyết, kỳ báo cáo.",
        ),
        lay.stat(
            "Trực tuyến toàn tỉnh (kỳ)",
            (15, 0, 3, 4),
            'sum(tthc_period_figure{figure="received_online"})'
            f' / sum(tthc_period_figure{{figure=~"{TOTAL_IN}"}})',
            unit="percentunit",
            decimals=1,
            steps=RATE_STEPS,
            no_value="Không có",
            description="Hồ sơ tiếp nhận trực tuyến / tổng số hồ sơ nhận giải quyết (PL1).",
        ),
        lay.stat(
            "Liên thông trễ hạn (kỳ)",
            (18, 0, 3, 4),
            'sum(tthc_period_figure{figure="late_as_interagency"}) or vector(0)',
            steps=COUNT_STEPS,
            description="Bước liên thông (chi nhánh VPĐKĐĐ, chi cục thuế, ...) hoàn thành trễ "
            "hạn trong kỳ (PL4); chi tiết theo đơn vị ở bảng Chi tiết đơn vị.",
        ),
        lay.stat(
            "Dữ liệu cập nhật cách đây",
            (21, 0, 3, 4),
            f"time() - max({LAST_APPLIED} > 0)",
            unit="s",
            steps=(("green", None), ("orange", 900), ("red", 3600)),
            no_value="Chưa có sự kiện",
            description="Thời gian từ sự kiện cuối cùng được ghi vào số liệu. Trong giờ làm "
            "việc, quá 15 phút nghĩa là số liệu trên màn hình có thể đã cũ.",
        ),
        rows_table(
            lay,
            "Sở, ban, ngành – xếp theo tỷ lệ đúng hạn, cao → thấp",
            (0, 4, 12, 24),
            "I",
        ),
        # Group IV (commune-level units from 1 July 2025) shares the right-hand table: only
        # the groups in force in the period have rows (in_force), so the 2022 units and
        # the 2025 communes do not crowd it together. 78 communes exceed its 23 lines: the
        # table scrolls there (docs/dashboards.md); the built-in wall pages through them.
        rows_table(
            lay,
            "Cơ quan ngành dọc, UBND cấp huyện, cấp xã – xếp theo tỷ lệ đúng hạn, cao → thấp",
            (12, 4, 12, 24),
            "II|III|IV",
        ),
    ]
    return dashboard(
        "tthc-wall",
        "Màn hình giám sát TTHC",
        panels,
        description="Màn hình treo tường 1920×1080 (chế độ kiosk, giao diện tối): mọi đơn vị "
        "của báo cáo tháng trên một màn hình.",
        time_from="now/d",
        refresh="15s",
        tags=["tthc", "wall"],
    )
