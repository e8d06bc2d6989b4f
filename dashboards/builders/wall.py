"""The wall dashboard (tthc-wall.json): province-wide figures and unit rankings for a TV."""

from __future__ import annotations

from typing import Any

from dashboards.builders.names import unit_names
from dashboards.builders.panels import COUNT_STEPS, RATE_STEPS, Layout, dashboard, thresholds
from dashboards.builders.queries import ON_TIME, OPEN_BY_UNIT, RESOLVED, TOTAL_IN


def wall() -> dict[str, Any]:
    """1920x1080 (24 columns x 28 rows of ~38 px), dark, for a TV in kiosk mode."""
    top = unit_names(top_level_only=True)
    everyone = unit_names()
    lay = Layout()
    panels = [
        lay.stat(
            "Tiếp nhận hôm nay",
            (0, 0, 4, 5),
            "round(sum(increase(tthc_received_total[$__range]))) or vector(0)",
            description="Hồ sơ mới tiếp nhận (trực tuyến và trực tiếp) từ 0 giờ hôm nay.",
        ),
        lay.stat(
            "Trả kết quả hôm nay",
            (4, 0, 4, 5),
            "round(sum(increase(tthc_resolved_total[$__range]))) or vector(0)",
            description="Hồ sơ và bước liên thông đã giải quyết từ 0 giờ hôm nay.",
        ),
        lay.stat(
            "Đang quá hạn",
            (8, 0, 4, 5),
            'sum(tthc_open_dossiers{state="overdue"}) or vector(0)',
            steps=COUNT_STEPS,
            description="Hồ sơ đang giải quyết đã quá hạn (không tính hồ sơ tạm dừng).",
        ),
        lay.stat(
            "Đến hạn hôm nay",
            (12, 0, 4, 5),
            'sum(tthc_open_dossiers{state="due_today"}) or vector(0)',
            steps=thresholds(("green", None), ("orange", 1)),
            description="Hồ sơ đang giải quyết có hạn trả trong hôm nay.",
        ),
        lay.stat(
            "Đúng hạn toàn tỉnh (kỳ)",
            (16, 0, 4, 5),
            f'sum(tthc_period_figure{{figure=~"{ON_TIME}"}})'
            f' / sum(tthc_period_figure{{figure=~"{RESOLVED}"}})',
            unit="percentunit",
            decimals=1,
            steps=RATE_STEPS,
            description="Hồ sơ giải quyết trước và đúng hạn / hồ sơ đã giải quyết, kỳ báo cáo.",
        ),
        lay.stat(
            "Trực tuyến toàn tỉnh (kỳ)",
            (20, 0, 4, 5),
            'sum(tthc_period_figure{figure="received_online"})'
            f' / sum(tthc_period_figure{{figure=~"{TOTAL_IN}"}})',
            unit="percentunit",
            decimals=1,
            steps=RATE_STEPS,
            description="Hồ sơ tiếp nhận trực tuyến / tổng số hồ sơ nhận giải quyết (PL1).",
        ),
    ]
    for i, (rate, title) in enumerate(
        (
            ("on_time", "Tỷ lệ giải quyết đúng hạn (PL3)"),
            ("online", "Tỷ lệ tiếp nhận trực tuyến (PL1)"),
            ("components_full", "Tỷ lệ số hóa thành phần hồ sơ (PL2)"),
            ("online_payment", "Tỷ lệ thanh toán trực tuyến (PL5, PL6)"),
        )
    ):
        panels.append(
            lay.bars(
                title,
                (6 * i, 5, 6, 13),
                f'sort_desc(tthc_period_rate_ratio{{rate="{rate}"}})',
                "{{report_unit}}",
                top,
                description="Xếp hạng các đơn vị như phụ lục của báo cáo tháng (kỳ hiện tại).",
            )
        )
    panels += [
        lay.bars(
            "Quá hạn nhiều nhất",
            (0, 18, 5, 10),
            f'sort_desc(topk(8, sum by (report_unit) (tthc_open_dossiers{{state="overdue"}})'
            f" or {OPEN_BY_UNIT}))",
            "{{report_unit}}",
            top,
            steps=COUNT_STEPS,
            description="Hồ sơ đang quá hạn tại đơn vị chủ trì, 8 đơn vị nhiều nhất.",
            unit="none",
            decimals=0,
            maximum=None,
        ),
        lay.bars(
            "Đến hạn hôm nay",
            (5, 18, 5, 10),
            f'sort_desc(topk(8, sum by (report_unit) (tthc_open_dossiers{{state="due_today"}})'
            f" or {OPEN_BY_UNIT}))",
            "{{report_unit}}",
            top,
            steps=thresholds(("green", None), ("orange", 1)),
            description="Hồ sơ phải trả trong hôm nay, 8 đơn vị nhiều nhất.",
            unit="none",
            decimals=0,
            maximum=None,
        ),
        lay.bars(
            "Chỉ số 766: tổng điểm",
            (10, 18, 5, 10),
            "sort_desc(topk(10, sum by (report_unit) (tthc_index766_points)))",
            "{{report_unit}}",
            top,
            unit="none",
            decimals=1,
            maximum=None,
            steps=thresholds(("red", None), ("orange", 20), ("green", 40)),
            description="Điểm Bộ chỉ số 766 (các chỉ số tính được từ sự kiện), 10 đơn vị cao nhất.",
        ),
        lay.bars(
            "Chỉ số 766: chỉ tiêu chưa đạt",
            (15, 18, 4, 10),
            "sort_desc(topk(8, count by (report_unit) (tthc_index766_gap_ratio > 0)))",
            "{{report_unit}}",
            top,
            steps=thresholds(("green", None), ("orange", 1), ("red", 3)),
            description="Số chỉ số 766 còn khoảng cách tới chỉ tiêu, 8 đơn vị nhiều nhất.",
            unit="none",
            decimals=0,
            maximum=None,
        ),
        lay.bars(
            "Liên thông đất đai: trễ hạn",
            (19, 18, 5, 10),
            'sort_desc(topk(8, sum by (unit) (tthc_period_figure{figure="late_as_interagency"})))',
            "{{unit}}",
            everyone,
            steps=COUNT_STEPS,
            description="Bước liên thông (chi nhánh VPĐKĐĐ, chi cục thuế, ...) hoàn thành "
            "trễ hạn trong kỳ, theo đơn vị xử lý bước (PL4).",
            unit="none",
            decimals=0,
            maximum=None,
        ),
    ]
    return dashboard(
        "tthc-wall",
        "Màn hình giám sát TTHC – Quảng Trị",
        panels,
        description="Màn hình treo tường 1920×1080 (chế độ kiosk, giao diện tối).",
        time_from="now/d",
        refresh="15s",
        tags=["tthc", "wall"],
    )
