"""The unit drill-down dashboard (tthc-unit.json): one unit's period, index 766 and backlog."""

from __future__ import annotations

from typing import Any

from dashboards.builders.names import RATE_NAMES, STATE_NAMES, indicator_names, unit_names
from dashboards.builders.panels import COUNT_STEPS, DATASOURCE, Layout, dashboard, target
from dashboards.builders.queries import RESOLVED, TOTAL_IN

UNIT = 'report_unit="$report_unit"'


def unit_dashboard() -> dict[str, Any]:
    everyone = unit_names()
    lay = Layout()
    figure = "tthc_period_figure{" + UNIT + ',figure=~"%s"}'
    stats = (
        ("Nhận giải quyết (kỳ)", TOTAL_IN),
        ("Tiếp nhận trực tuyến", "received_online"),
        ("Đã giải quyết", RESOLVED),
        ("Giải quyết trễ hạn", "resolved_late"),
        ("Đang giải quyết quá hạn", "in_progress_overdue"),
        ("Đã xin lỗi", "apologized"),
    )
    panels = [
        lay.stat(title, (4 * i, 0, 4, 4), f"sum({figure % figures}) or vector(0)")
        for i, (title, figures) in enumerate(stats)
    ]
    panels += [
        lay.bars(
            "Tỷ lệ của đơn vị (kỳ)",
            (0, 4, 12, 8),
            f"tthc_period_rate_ratio{{{UNIT}}}",
            "{{rate}}",
            RATE_NAMES,
            description="Các tỷ lệ trong phụ lục báo cáo; không có cột khi mẫu số bằng 0.",
        ),
        lay.panel(
            "table",
            "Bộ chỉ số 766 của đơn vị",
            (12, 4, 12, 8),
            [
                target(f"tthc_index766_rate_ratio{{{UNIT}}}", ref="A"),
                target(f"tthc_index766_points{{{UNIT}}}", ref="B"),
                target(f"tthc_index766_gap_ratio{{{UNIT}}}", ref="C"),
            ],
            description="Tỷ lệ, điểm và khoảng cách tới chỉ tiêu theo từng chỉ số.",
            defaults={"custom": {"align": "auto", "cellOptions": {"type": "auto"}}},
            overrides=[
                {
                    "matcher": {"id": "byName", "options": "Value #A"},
                    "properties": [
                        {"id": "displayName", "value": "Tỷ lệ"},
                        {"id": "unit", "value": "percentunit"},
                        {"id": "decimals", "value": 1},
                    ],
                },
                {
                    "matcher": {"id": "byName", "options": "Value #B"},
                    "properties": [
                        {"id": "displayName", "value": "Điểm"},
                        {"id": "decimals", "value": 2},
                    ],
                },
                {
                    "matcher": {"id": "byName", "options": "Value #C"},
                    "properties": [
                        {"id": "displayName", "value": "Khoảng cách tới chỉ tiêu"},
                        {"id": "unit", "value": "percentunit"},
                        {"id": "decimals", "value": 1},
                    ],
                },
                {
                    "matcher": {"id": "byName", "options": "indicator"},
                    "properties": [
                        {"id": "displayName", "value": "Chỉ số"},
                        {
                            "id": "mappings",
                            "value": [
                                {
                                    "type": "value",
                                    "options": {
                                        key: {"text": name, "index": i}
                                        for i, (key, name) in enumerate(indicator_names().items())
                                    },
                                }
                            ],
                        },
                    ],
                },
            ],
            options={"showHeader": True, "cellHeight": "md"},
            transformations=[
                {"id": "merge", "options": {}},
                {
                    "id": "organize",
                    "options": {
                        "excludeByName": {"Time": True, "report_unit": True},
                        "indexByName": {"indicator": 0, "Value #A": 1, "Value #B": 2},
                    },
                },
            ],
        ),
        lay.timeseries(
            "Hồ sơ đang giải quyết theo tình trạng hạn",
            (0, 12, 12, 8),
            [target(f"sum by (state) (tthc_open_dossiers{{{UNIT}}})", "{{state}}", instant=False)],
            names=STATE_NAMES,
            stacked=True,
        ),
        lay.timeseries(
            "Bước liên thông đang xử lý theo đơn vị",
            (12, 12, 12, 8),
            [
                target(f"sum by (unit) (tthc_open_stages{{{UNIT}}})", "{{unit}}", instant=False),
            ],
            names=everyone,
            stacked=True,
            description="Bước liên thông (chuyển đến) đang xử lý tại các đơn vị trực thuộc.",
        ),
        lay.timeseries(
            "Tiếp nhận và giải quyết (mỗi giờ)",
            (0, 20, 12, 8),
            [
                target(
                    f"sum by (channel) (increase(tthc_received_total{{{UNIT}}}[1h]))",
                    "Tiếp nhận {{channel}}",
                    instant=False,
                ),
                target(
                    f"sum by (timeliness) (increase(tthc_resolved_total{{{UNIT}}}[1h]))",
                    "Giải quyết {{timeliness}}",
                    ref="B",
                    instant=False,
                ),
            ],
        ),
        lay.bars(
            "Trễ hạn trong kỳ theo đơn vị và bước",
            (12, 20, 12, 8),
            f'sort_desc(sum by (unit) (tthc_period_figure{{{UNIT},figure=~"late_as_.*"}}))',
            "{{unit}}",
            everyone,
            unit="none",
            decimals=0,
            maximum=None,
            steps=COUNT_STEPS,
            description="Bước chủ trì (late_as_initial) và liên thông (late_as_interagency).",
        ),
    ]
    variable = {
        "name": "report_unit",
        "label": "Đơn vị",
        "type": "query",
        "datasource": DATASOURCE,
        "query": {
            "query": "label_values(tthc_period_figure, report_unit)",
            "refId": "PrometheusVariableQueryEditor-VariableQuery",
        },
        "definition": "label_values(tthc_period_figure, report_unit)",
        "refresh": 2,
        "sort": 1,
        "multi": False,
        "includeAll": False,
        "current": {},
        "options": [],
        "hide": 0,
    }
    return dashboard(
        "tthc-unit",
        "Chi tiết đơn vị – TTHC",
        panels,
        description="Số liệu kỳ hiện tại, chỉ số 766 và hồ sơ đang giải quyết của một đơn vị.",
        time_from="now-24h",
        refresh="1m",
        variables=[variable],
        tags=["tthc", "unit"],
    )
