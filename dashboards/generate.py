"""Write the Grafana dashboards (dashboards/grafana/dashboards/*.json) from this file.

    python dashboards/generate.py           rewrite the JSON files
    python dashboards/generate.py --check   exit 1 when a committed file differs

Why a script and not hand-written JSON: every per-unit panel carries one display-name
override per unit (unit id -> the registry's Vietnamese name, ~75 units), and the three
dashboards share the datasource, the styling and the panel shapes. Written out by hand
that is thousands of repetitive lines that drift from tthc_monitor/reference; here it is
read from the registry CSV. Only the standard library is used (grafana-foundation-sdk is
not packaged for Debian and would be one more dependency for ~300 lines of dicts). The
JSON is committed, so Grafana never runs this script; tests/unit/test_dashboards.py
checks that the committed files equal its output.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "dashboards" / "grafana" / "dashboards"
UNITS_CSV = ROOT / "tthc_monitor" / "reference" / "data" / "quangtri" / "units.csv"
INDICATORS_JSON = ROOT / "tthc_monitor" / "reference" / "data" / "index766.json"

DATASOURCE = {"type": "prometheus", "uid": "tthc-prometheus"}
TIMEZONE = "Asia/Ho_Chi_Minh"
SCHEMA_VERSION = 39
JOB = "tthc-monitor"  # the scrape job of dashboards/prometheus/prometheus.yml

Panel = dict[str, Any]

RATE_NAMES = {
    "online": "Trực tuyến (PL1)",
    "on_time": "Đúng hạn (PL3)",
    "components_full": "Số hóa thành phần (PL2)",
    "results": "Số hóa kết quả (PL2)",
    "online_payment": "Thanh toán trực tuyến (PL5/PL6)",
}
STATE_NAMES = {
    "overdue": "Quá hạn",
    "due_today": "Đến hạn hôm nay",
    "due_soon": "Đến hạn ngày làm việc tới",
    "within": "Còn hạn",
}
OUTCOME_NAMES = {
    "applied": "Đã áp dụng",
    "duplicate": "Trùng lặp",
    "refused": "Sai thứ tự (từ chối)",
    "dead_letter": "Thư chết (lỗi)",
}
LEVEL_NAMES = {
    "due_soon": "Sắp đến hạn",
    "due_today": "Đến hạn hôm nay",
    "overdue": "Quá hạn",
    "apology_missing": "Chưa xin lỗi",
}


def units() -> list[dict[str, str]]:
    with UNITS_CSV.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def unit_names(top_level_only: bool = False) -> dict[str, str]:
    rows = units()
    if top_level_only:
        rows = [r for r in rows if not r["parent_id"] and r["report_group"]]
    return {r["unit_id"]: r["name"] for r in rows}


def indicator_names() -> dict[str, str]:
    data = json.loads(INDICATORS_JSON.read_text(encoding="utf-8"))
    return {i["id"]: f"{i['id']} {i['name']}" for i in data["indicators"]}


# ------------------------------------------------------------------------- building blocks


def target(expr: str, legend: str = "", ref: str = "A", instant: bool = True) -> dict[str, Any]:
    result: dict[str, Any] = {
        "datasource": DATASOURCE,
        "refId": ref,
        "expr": expr,
        "instant": instant,
        "range": not instant,
        "editorMode": "code",
    }
    if legend:
        result["legendFormat"] = legend
    return result


def rename(names: dict[str, str]) -> list[dict[str, Any]]:
    """Field overrides that show a label value (unit id, rate, ...) as its Vietnamese name."""
    return [
        {
            "matcher": {"id": "byName", "options": key},
            "properties": [{"id": "displayName", "value": value}],
        }
        for key, value in names.items()
    ]


def thresholds(*steps: tuple[str, float | None]) -> dict[str, Any]:
    return {"mode": "absolute", "steps": [{"color": c, "value": v} for c, v in steps]}


RATE_STEPS = thresholds(("red", None), ("orange", 0.5), ("yellow", 0.8), ("green", 0.95))
COUNT_STEPS = thresholds(("green", None), ("orange", 1), ("red", 10))


class Layout:
    def __init__(self) -> None:
        self.next_id = 1

    def panel(
        self,
        kind: str,
        title: str,
        grid: tuple[int, int, int, int],
        targets: list[dict[str, Any]],
        *,
        description: str = "",
        defaults: dict[str, Any] | None = None,
        overrides: list[dict[str, Any]] | None = None,
        options: dict[str, Any] | None = None,
        transformations: list[dict[str, Any]] | None = None,
    ) -> Panel:
        x, y, w, h = grid
        panel: Panel = {
            "id": self.next_id,
            "type": kind,
            "title": title,
            "description": description,
            "datasource": DATASOURCE,
            "gridPos": {"x": x, "y": y, "w": w, "h": h},
            "targets": targets,
            "fieldConfig": {"defaults": defaults or {}, "overrides": overrides or []},
            "options": options or {},
        }
        if transformations:
            panel["transformations"] = transformations
        self.next_id += 1
        return panel

    def stat(
        self,
        title: str,
        grid: tuple[int, int, int, int],
        expr: str,
        *,
        unit: str = "none",
        steps: dict[str, Any] | None = None,
        decimals: int = 0,
        description: str = "",
        legend: str = "",
        overrides: list[dict[str, Any]] | None = None,
    ) -> Panel:
        return self.panel(
            "stat",
            title,
            grid,
            [target(expr, legend)],
            description=description,
            defaults={
                "unit": unit,
                "decimals": decimals,
                "color": {"mode": "thresholds"},
                "thresholds": steps or thresholds(("blue", None)),
                "noValue": "0",
            },
            overrides=overrides,
            options={
                "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                "colorMode": "background",
                "graphMode": "none",
                "justifyMode": "center",
                "textMode": "auto",
                "orientation": "auto",
                "wideLayout": True,
            },
        )

    def bars(
        self,
        title: str,
        grid: tuple[int, int, int, int],
        expr: str,
        legend: str,
        names: dict[str, str],
        *,
        unit: str = "percentunit",
        steps: dict[str, Any] = RATE_STEPS,
        decimals: int = 1,
        maximum: float | None = 1,
        description: str = "",
        text_size: int = 18,
    ) -> Panel:
        defaults: dict[str, Any] = {
            "unit": unit,
            "decimals": decimals,
            "min": 0,
            "color": {"mode": "thresholds"},
            "thresholds": steps,
            "noValue": "Không có",
        }
        if maximum is not None:
            defaults["max"] = maximum
        return self.panel(
            "bargauge",
            title,
            grid,
            [target(expr, legend)],
            description=description,
            defaults=defaults,
            overrides=rename(names),
            options={
                "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                "orientation": "horizontal",
                "displayMode": "gradient",
                "valueMode": "color",
                "namePlacement": "left",
                "showUnfilled": True,
                "sizing": "auto",
                "minVizHeight": 16,
                "maxVizHeight": 48,
                "text": {"titleSize": text_size, "valueSize": text_size},
            },
        )

    def timeseries(
        self,
        title: str,
        grid: tuple[int, int, int, int],
        targets: list[dict[str, Any]],
        *,
        unit: str = "none",
        names: dict[str, str] | None = None,
        description: str = "",
        stacked: bool = False,
    ) -> Panel:
        return self.panel(
            "timeseries",
            title,
            grid,
            targets,
            description=description,
            defaults={
                "unit": unit,
                "color": {"mode": "palette-classic"},
                "custom": {
                    "drawStyle": "line",
                    "lineWidth": 2,
                    "fillOpacity": 10,
                    "showPoints": "never",
                    "stacking": {"mode": "normal" if stacked else "none", "group": "A"},
                },
            },
            overrides=rename(names or {}),
            options={
                "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
                "tooltip": {"mode": "multi", "sort": "desc"},
            },
        )


def dashboard(
    uid: str,
    title: str,
    panels: list[Panel],
    *,
    description: str,
    time_from: str,
    refresh: str,
    variables: list[dict[str, Any]] | None = None,
    tags: list[str],
) -> dict[str, Any]:
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": tags,
        "timezone": TIMEZONE,
        "editable": False,
        "graphTooltip": 1,
        "liveNow": False,
        "refresh": refresh,
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "time": {"from": time_from, "to": "now"},
        "timepicker": {},
        "fiscalYearStartMonth": 0,
        "weekStart": "monday",
        "links": [],
        "annotations": {"list": []},
        "templating": {"list": variables or []},
        "panels": panels,
    }


# --------------------------------------------------------------------------------- the wall

RESOLVED = "resolved_early|resolved_on_time|resolved_late"
ON_TIME = "resolved_early|resolved_on_time"
TOTAL_IN = "received_online|received_direct|carried_over|received_interagency"
# Units with open dossiers get a 0 when none of theirs is in the state (instead of no row).
OPEN_BY_UNIT = "0 * sum by (report_unit) (tthc_open_dossiers)"


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


# ------------------------------------------------------------------------- unit drill-down

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


# ------------------------------------------------------------------------------ operations


def operations() -> dict[str, Any]:
    lay = Layout()
    panels = [
        lay.stat(
            "Exporter hoạt động",
            (0, 0, 4, 4),
            f'min(up{{job="{JOB}"}})',
            steps=thresholds(("red", None), ("green", 1)),
            description="1 khi Prometheus đọc được /metrics của tthc-monitor serve.",
        ),
        lay.stat(
            "Thư chết trong khoảng",
            (4, 0, 4, 4),
            'round(sum(increase(tthc_pipeline_events_total{outcome="dead_letter"}[$__range])))'
            " or vector(0)",
            steps=thresholds(("green", None), ("red", 1)),
            description="Sự kiện không hợp lệ chuyển sang topic thư chết (DLQ).",
        ),
        lay.stat(
            "Hồ sơ mồ côi",
            (8, 0, 4, 4),
            "sum(tthc_pipeline_orphan_dossiers)",
            steps=thresholds(("green", None), ("orange", 1)),
            description="Hồ sơ có sự kiện nhưng chưa nhận được sự kiện tiếp nhận.",
        ),
        lay.stat(
            "Thời gian đọc Redis",
            (12, 0, 4, 4),
            "max(tthc_exporter_scrape_duration_seconds)",
            unit="s",
            decimals=3,
            steps=thresholds(("green", None), ("orange", 0.1), ("red", 1)),
        ),
        lay.stat(
            "Sự kiện đã xử lý",
            (16, 0, 8, 4),
            "sum by (outcome) (tthc_pipeline_events_total)",
            legend="{{outcome}}",
            overrides=rename(OUTCOME_NAMES),
        ),
        lay.timeseries(
            "Sự kiện theo kết quả (mỗi giây)",
            (0, 4, 12, 9),
            [
                target(
                    "sum by (outcome) (rate(tthc_pipeline_events_total[$__rate_interval]))",
                    "{{outcome}}",
                    instant=False,
                )
            ],
            unit="ops",
            names=OUTCOME_NAMES,
        ),
        lay.timeseries(
            "Offset đã áp dụng theo phân vùng",
            (12, 4, 12, 9),
            [target("tthc_pipeline_applied_offset", "phân vùng {{partition}}", instant=False)],
            description="Offset kế tiếp của topic sự kiện đã ghi vào Redis.",
        ),
        lay.timeseries(
            "Cảnh báo đã phát theo mức",
            (0, 13, 12, 9),
            [
                target(
                    "sum by (level) (increase(tthc_alerts_fired_total[$__rate_interval]))",
                    "{{level}}",
                    instant=False,
                )
            ],
            names=LEVEL_NAMES,
            stacked=True,
        ),
        lay.timeseries(
            "Thời gian scrape",
            (12, 13, 12, 9),
            [
                target("max(tthc_exporter_scrape_duration_seconds)", "đọc Redis", instant=False),
                target(
                    f'max(scrape_duration_seconds{{job="{JOB}"}})',
                    "toàn bộ scrape",
                    ref="B",
                    instant=False,
                ),
            ],
            unit="s",
        ),
        lay.stat(
            "Cảnh báo đã phát (tổng)",
            (0, 22, 24, 4),
            "sum by (level) (tthc_alerts_fired_total)",
            legend="{{level}}",
            overrides=rename(LEVEL_NAMES),
        ),
    ]
    return dashboard(
        "tthc-operations",
        "Vận hành hệ thống giám sát TTHC",
        panels,
        description="Sức khỏe pipeline: sự kiện, offset, thư chết, cảnh báo, exporter.",
        time_from="now-6h",
        refresh="30s",
        tags=["tthc", "operations"],
    )


DASHBOARDS = {
    "tthc-wall.json": wall,
    "tthc-unit.json": unit_dashboard,
    "tthc-operations.json": operations,
}


def render(build: Any) -> str:
    return json.dumps(build(), ensure_ascii=False, indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args(argv)
    stale = []
    for name, build in DASHBOARDS.items():
        path = OUT / name
        text = render(build)
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    if stale:
        print(f"out of date: {', '.join(stale)} (run python dashboards/generate.py)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
