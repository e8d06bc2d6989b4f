"""The operations dashboard (tthc-operations.json): the pipeline's own health.

Two sources. The exporter (`job="tthc-monitor"`) publishes what the workers wrote to
Redis: events by outcome, applied offsets, orphans, the last applied event, alerts fired,
Redis memory. Each worker's own endpoint (`job="tthc-worker"`) publishes what only the
process knows: consumer lag per partition, event lag and batches (histogram and
counters), Redis refusals. Counters use rate()/increase(); gauges are shown as they are.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders.dashboard import Dashboard
from grafana_foundation_sdk.cog.builder import Builder
from grafana_foundation_sdk.models import dashboard as model

from dashboards.builders.labels import LAG_SINCE, LEVEL_NAMES, OUTCOME_NAMES
from dashboards.builders.panels import Layout, dashboard, query
from dashboards.builders.queries import LAST_APPLIED

JOB = "tthc-monitor"  # the scrape jobs of dashboards/prometheus/prometheus.yml
WORKER_JOB = "tthc-worker"
QUANTILES = (("0.5", "trung vị"), ("0.99", "p99"))


def operations() -> Dashboard:
    lay = Layout()
    panels: list[Builder[model.Panel]] = [
        lay.stat(
            "Exporter hoạt động",
            (0, 0, 4, 4),
            f'min(up{{job="{JOB}"}})',
            steps=(("red", None), ("green", 1)),
            no_value="Không có",
            description="1 khi Prometheus đọc được /metrics của tthc-monitor serve.",
        ),
        lay.stat(
            "Worker đang chạy",
            (4, 0, 4, 4),
            f'count(up{{job="{WORKER_JOB}"}} == 1) or vector(0)',
            steps=(("red", None), ("green", 1)),
            description="Số worker Prometheus đọc được endpoint /metrics riêng.",
        ),
        lay.stat(
            "Sự kiện cuối áp dụng cách đây",
            (8, 0, 4, 4),
            f"time() - max({LAST_APPLIED} > 0)",
            unit="s",
            steps=(("green", None), ("orange", 900), ("red", 3600)),
            no_value="Chưa có sự kiện",
            description="Tuổi của số liệu: thời gian từ lần cuối một worker ghi sự kiện vào Redis.",
        ),
        lay.stat(
            "Thư chết trong khoảng",
            (12, 0, 4, 4),
            'round(sum(increase(tthc_pipeline_events_total{outcome="dead_letter"}[$__range])))'
            " or vector(0)",
            steps=(("green", None), ("red", 1)),
            description="Sự kiện không hợp lệ chuyển sang topic thư chết (DLQ).",
        ),
        lay.stat(
            "Hồ sơ mồ côi",
            (16, 0, 4, 4),
            "sum(tthc_pipeline_orphan_dossiers)",
            steps=(("green", None), ("orange", 1)),
            description="Hồ sơ có sự kiện nhưng chưa nhận được sự kiện tiếp nhận.",
        ),
        lay.stat(
            "Redis: bộ nhớ / maxmemory",
            (20, 0, 4, 4),
            "max(tthc_redis_memory_used_bytes) / max(tthc_redis_memory_max_bytes > 0)",
            unit="percentunit",
            decimals=1,
            steps=(("green", None), ("orange", 0.8), ("red", 0.9)),
            no_value="Không giới hạn",
            description="Bộ nhớ Redis đang dùng so với maxmemory (INFO memory); không có giá "
            "trị khi maxmemory chưa đặt.",
        ),
        lay.timeseries(
            "Độ trễ consumer theo phân vùng",
            (0, 4, 12, 8),
            [
                query(
                    "max by (partition) (tthc_worker_consumer_lag_messages)",
                    "phân vùng {{partition}}",
                    instant=False,
                )
            ],
            description="Số message của topic sự kiện chưa được worker áp dụng, mỗi phân vùng.",
        ),
        lay.timeseries(
            "Sự kiện theo kết quả (mỗi giây)",
            (12, 4, 12, 8),
            [
                query(
                    "sum by (outcome) (rate(tthc_worker_events_total[$__rate_interval]))",
                    "{{outcome}}",
                    instant=False,
                )
            ],
            unit="ops",
            names=OUTCOME_NAMES,
            description="Theo báo cáo của từng worker: áp dụng, trùng lặp, sai thứ tự, thư chết.",
        ),
        lay.timeseries(
            "Thời gian từ khi nhận đến khi ghi lô",
            (0, 12, 12, 8),
            [
                query(
                    f"histogram_quantile({q}, sum by (le) (rate("
                    f'tthc_worker_event_lag_seconds_bucket{{since="{since}"}}[$__rate_interval])))',
                    f"{label} {since_name}",
                    ref=chr(ord("A") + i),
                    instant=False,
                )
                for i, ((q, label), (since, since_name)) in enumerate(
                    (quantile, since) for since in LAG_SINCE.items() for quantile in QUANTILES
                )
            ],
            unit="s",
            description="Độ trễ sự kiện: từ thời điểm xảy ra (occurred) hoặc từ khi vào Kafka "
            "(arrival) đến khi lô chứa nó được ghi vào Redis.",
        ),
        lay.timeseries(
            "Lô đã ghi và Redis từ chối (mỗi giây)",
            (12, 12, 12, 8),
            [
                query(
                    "sum(rate(tthc_worker_batches_total[$__rate_interval]))",
                    "lô đã ghi",
                    instant=False,
                ),
                query(
                    "sum by (script, code) "
                    "(rate(tthc_worker_store_refusals_total[$__rate_interval]))"
                    " or vector(0)",
                    "Redis từ chối {{script}} {{code}}",
                    ref="B",
                    instant=False,
                ),
            ],
            unit="ops",
            description="Lô sự kiện worker ghi vào Redis; lần Redis từ chối lệnh ghi (khóa sai "
            "kiểu, bộ đếm không phải số nguyên) — worker thử lại cho đến khi khóa được sửa.",
        ),
        lay.timeseries(
            "Offset đã áp dụng theo phân vùng",
            (0, 20, 8, 8),
            [query("tthc_pipeline_applied_offset", "phân vùng {{partition}}", instant=False)],
            description="Offset kế tiếp của topic sự kiện đã ghi vào Redis.",
        ),
        lay.timeseries(
            "Hồ sơ mồ côi và thư chết",
            (8, 20, 8, 8),
            [
                query("sum(tthc_pipeline_orphan_dossiers)", "hồ sơ mồ côi", instant=False),
                query(
                    "sum(tthc_pipeline_orphan_events)", "sự kiện đang giữ", ref="B", instant=False
                ),
                query(
                    'sum(tthc_pipeline_events_total{outcome="dead_letter"})',
                    "thư chết (tổng)",
                    ref="C",
                    instant=False,
                ),
            ],
        ),
        lay.timeseries(
            "Bộ nhớ Redis",
            (16, 20, 8, 8),
            [
                query("max(tthc_redis_memory_used_bytes)", "đang dùng", instant=False),
                query("max(tthc_redis_memory_max_bytes > 0)", "maxmemory", ref="B", instant=False),
            ],
            unit="bytes",
        ),
        lay.timeseries(
            "Cảnh báo đã phát theo mức",
            (0, 28, 12, 8),
            [
                query(
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
            (12, 28, 12, 8),
            [
                query("max(tthc_exporter_scrape_duration_seconds)", "đọc Redis", instant=False),
                query(
                    f'max(scrape_duration_seconds{{job="{JOB}"}})',
                    "toàn bộ scrape",
                    ref="B",
                    instant=False,
                ),
            ],
            unit="s",
        ),
        lay.stat(
            "Sự kiện đã xử lý (tổng)",
            (0, 36, 12, 4),
            "sum by (outcome) (tthc_pipeline_events_total)",
            legend="{{outcome}}",
            names=OUTCOME_NAMES,
        ),
        lay.stat(
            "Cảnh báo đã phát (tổng)",
            (12, 36, 12, 4),
            "sum by (level) (tthc_alerts_fired_total)",
            legend="{{level}}",
            names=LEVEL_NAMES,
        ),
    ]
    return dashboard(
        "tthc-operations",
        "Vận hành hệ thống giám sát TTHC",
        panels,
        description="Sức khỏe pipeline: worker, độ trễ, sự kiện, offset, thư chết, Redis, "
        "cảnh báo, exporter.",
        time_from="now-6h",
        refresh="30s",
        tags=["tthc", "operations"],
    )
