"""The unit drill-down dashboard (tthc-unit.json): one report row's period, index 766, backlog.

The variable `report_unit` lists the report rows from `tthc_unit_info` (value: the unit
id the metrics carry; text: its name), so the JSON does not depend on the province.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders.dashboard import Dashboard, QueryVariable
from grafana_foundation_sdk.cog.builder import Builder
from grafana_foundation_sdk.models import dashboard as model

from dashboards.builders.labels import FLOW_NAMES, RATE_NAMES, STATE_NAMES, indicator_names
from dashboards.builders.panels import (
    COUNT_STEPS,
    DATASOURCE,
    Layout,
    dashboard,
    query,
    transformation,
)
from dashboards.builders.queries import REPORT_ROWS, RESOLVED, TOTAL_IN, with_unit_name

UNIT = 'report_unit="$report_unit"'
# Grafana's query_result() prints each series as metric{label="value", ...} with the
# labels in Prometheus' (alphabetical) order: name comes before unit.
VARIABLE_QUERY = f"query_result(tthc_unit_info{{{REPORT_ROWS}}})"
VARIABLE_REGEX = '/name="(?<text>[^"]+)".*[{ ,]unit="(?<value>[^"]+)"/'


def unit_variable() -> QueryVariable:
    return (
        QueryVariable("report_unit")
        .label("Đơn vị")
        .description("Đơn vị của báo cáo tháng (tên lấy từ danh mục đơn vị, tthc_unit_info).")
        .datasource(DATASOURCE)
        .query(VARIABLE_QUERY)
        .regex(VARIABLE_REGEX)
        .refresh(model.VariableRefresh.ON_DASHBOARD_LOAD)
        .sort(model.VariableSort.ALPHABETICAL_CASE_INSENSITIVE_ASC)
        .multi(False)
        .include_all(False)
    )


def unit_dashboard() -> Dashboard:
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
    panels: list[Builder[model.Panel]] = [
        lay.stat(title, (4 * i, 0, 4, 4), f"sum({figure % figures}) or vector(0)")
        for i, (title, figures) in enumerate(stats)
    ]
    indicators = {
        key: model.ValueMappingResult(text=name, index=i)
        for i, (key, name) in enumerate(indicator_names().items())
    }
    panels += [
        lay.bars(
            "Tỷ lệ của ${report_unit:text} (kỳ)",
            (0, 4, 12, 8),
            f"tthc_period_rate_ratio{{{UNIT}}}",
            "{{rate}}",
            names=RATE_NAMES,
            description="Các tỷ lệ trong phụ lục báo cáo; không có cột khi mẫu số bằng 0.",
        ),
        lay.table(
            "Bộ chỉ số 766 của ${report_unit:text}",
            (12, 4, 12, 8),
            [
                query(f"tthc_index766_rate_ratio{{{UNIT}}}", ref="A", table=True),
                query(f"tthc_index766_points{{{UNIT}}}", ref="B", table=True),
                query(f"tthc_index766_gap_ratio{{{UNIT}}}", ref="C", table=True),
            ],
            description="Tỷ lệ, điểm và khoảng cách tới chỉ tiêu theo từng chỉ số.",
            columns=[
                (
                    "Value #A",
                    [
                        model.DynamicConfigValue("displayName", "Tỷ lệ"),
                        model.DynamicConfigValue("unit", "percentunit"),
                        model.DynamicConfigValue("decimals", 1),
                    ],
                ),
                (
                    "Value #B",
                    [
                        model.DynamicConfigValue("displayName", "Điểm"),
                        model.DynamicConfigValue("decimals", 2),
                    ],
                ),
                (
                    "Value #C",
                    [
                        model.DynamicConfigValue("displayName", "Khoảng cách tới chỉ tiêu"),
                        model.DynamicConfigValue("unit", "percentunit"),
                        model.DynamicConfigValue("decimals", 1),
                    ],
                ),
                (
                    "indicator",
                    [
                        model.DynamicConfigValue("displayName", "Chỉ số"),
                        model.DynamicConfigValue("mappings", [model.ValueMap(options=indicators)]),
                    ],
                ),
            ],
            transformations=[
                transformation("merge", {}),
                transformation(
                    "organize",
                    {
                        "excludeByName": {"Time": True, "report_unit": True},
                        "indexByName": {"indicator": 0, "Value #A": 1, "Value #B": 2},
                    },
                ),
            ],
        ),
        lay.timeseries(
            "Hồ sơ đang giải quyết theo tình trạng hạn",
            (0, 12, 12, 8),
            [query(f"sum by (state) (tthc_open_dossiers{{{UNIT}}})", "{{state}}", instant=False)],
            names=STATE_NAMES,
            stacked=True,
        ),
        lay.timeseries(
            "Bước liên thông đang xử lý theo đơn vị",
            (12, 12, 12, 8),
            [
                query(
                    with_unit_name(f"sum by (unit) (tthc_open_stages{{{UNIT}}})"),
                    "{{name}}",
                    instant=False,
                ),
            ],
            stacked=True,
            description="Bước liên thông (chuyển đến) đang xử lý tại các đơn vị trực thuộc.",
        ),
        lay.timeseries(
            "Tiếp nhận và giải quyết (thay đổi trong 1 giờ)",
            (0, 20, 12, 8),
            [
                # All-time figures are gauges (a late event may revise them), so the
                # hourly change is delta(), not increase(): a revision shows as a dip.
                query(
                    f"round(sum by (channel) (delta(tthc_received_dossiers{{{UNIT}}}[1h])))",
                    "Tiếp nhận {{channel}}",
                    instant=False,
                ),
                query(
                    f"round(sum by (timeliness) (delta(tthc_resolved_dossiers{{{UNIT}}}[1h])))",
                    "Giải quyết {{timeliness}}",
                    ref="B",
                    instant=False,
                ),
            ],
            names=FLOW_NAMES,
            description="Số hồ sơ tiếp nhận (theo kênh) và giải quyết (theo mức độ đúng hạn) "
            "tăng thêm trong 1 giờ trước mỗi thời điểm; số âm khi sự kiện đến muộn điều "
            "chỉnh lại số liệu.",
        ),
        lay.bars(
            "Trễ hạn trong kỳ theo đơn vị và bước",
            (12, 20, 12, 8),
            "sort_desc("
            + with_unit_name(f'sum by (unit) (tthc_period_figure{{{UNIT},figure=~"late_as_.*"}})')
            + ")",
            "{{name}}",
            unit="none",
            decimals=0,
            maximum=None,
            steps=COUNT_STEPS,
            description="Bước chủ trì (late_as_initial) và liên thông (late_as_interagency) "
            "hoàn thành trễ hạn tại đơn vị và các đơn vị trực thuộc.",
        ),
    ]
    return dashboard(
        "tthc-unit",
        "Chi tiết đơn vị – TTHC",
        panels,
        description="Số liệu kỳ hiện tại, chỉ số 766 và hồ sơ đang giải quyết của một đơn vị.",
        time_from="now-24h",
        refresh="1m",
        variables=[unit_variable()],
        tags=["tthc", "unit"],
    )
