"""The operations dashboard (tthc-operations.json): pipeline, alerts and exporter health."""

from __future__ import annotations

from typing import Any

from dashboards.builders.names import LEVEL_NAMES, OUTCOME_NAMES
from dashboards.builders.panels import Layout, dashboard, rename, target, thresholds

JOB = "tthc-monitor"  # the scrape job of dashboards/prometheus/prometheus.yml


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
