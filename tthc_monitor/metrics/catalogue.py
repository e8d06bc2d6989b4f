"""Every metric the exporter exposes, in one place (rendered into docs/metrics.md).

Labels are bounded: ``unit`` (a registry unit id), ``report_unit`` (its top-level unit,
the row of the monthly report), and small enumerations. Never a dossier id. Counters
and period gauges carry each unit's *own* figures, so ``sum by (report_unit)`` gives a
report row without double counting; rates are per report row, since ratios do not add.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Metric:
    name: str
    kind: Literal["counter", "gauge"]
    labels: tuple[str, ...]
    help: str


UNIT = ("unit", "report_unit")

CATALOGUE: tuple[Metric, ...] = (
    # -- all-time counters, per unit -------------------------------------------------------
    Metric(
        "tthc_received_total",
        "counter",
        (*UNIT, "channel"),
        "Dossiers received by the unit as owner; channel online or direct (incl. postal).",
    ),
    Metric(
        "tthc_interagency_received_total",
        "counter",
        UNIT,
        "Inter-agency stages started at the unit (dossier transferred in, liên thông).",
    ),
    Metric(
        "tthc_transferred_out_total",
        "counter",
        UNIT,
        "Transfers made by the unit (handing a dossier on).",
    ),
    Metric(
        "tthc_resolved_total",
        "counter",
        (*UNIT, "timeliness"),
        "Dossiers resolved by the owner and inter-agency stages finished at the unit, "
        "by timeliness: early, on_time, late.",
    ),
    Metric(
        "tthc_late_stages_total",
        "counter",
        (*UNIT, "stage"),
        "Stages that finished late at the unit; stage owner (late as initial unit) or interagency.",
    ),
    Metric(
        "tthc_digitized_dossiers_total",
        "counter",
        (*UNIT, "kind"),
        "Dossiers counted by the digitization appendix: received (in scope), "
        "with_components, fully, resolved (in scope), results.",
    ),
    Metric(
        "tthc_paid_dossiers_total",
        "counter",
        (*UNIT, "channel"),
        "Fee-bearing dossiers paid, by channel national_portal, one_stop, offline.",
    ),
    Metric(
        "tthc_fee_dossiers_total",
        "counter",
        UNIT,
        "Dossiers of fee-bearing procedures received by the unit.",
    ),
    Metric("tthc_apologized_total", "counter", UNIT, "Apology letters issued by the unit."),
    Metric("tthc_extended_total", "counter", UNIT, "Deadline extensions granted by the unit."),
    Metric("tthc_withdrawn_total", "counter", UNIT, "Dossiers of the unit withdrawn."),
    # -- the current period ----------------------------------------------------------------
    Metric(
        "tthc_period_figure",
        "gauge",
        (*UNIT, "figure"),
        "The current period's snapshot figures of the unit (its own, not rolled up); "
        "figure is a snapshot field name, e.g. carried_over or in_progress_overdue.",
    ),
    Metric(
        "tthc_period_rate_ratio",
        "gauge",
        ("report_unit", "rate"),
        "Rates of the report's appendices for the current period, 0-1, per report row: "
        "online (PL1), on_time (PL3), components_full (PL2a), results (PL2b), "
        "online_payment (PL5/PL6).",
    ),
    Metric(
        "tthc_period_start_timestamp_seconds",
        "gauge",
        (),
        "Start of the current reporting period (Unix time).",
    ),
    # -- live ------------------------------------------------------------------------------
    Metric(
        "tthc_open_dossiers",
        "gauge",
        (*UNIT, "state"),
        "Dossiers running now at their owner (open, not paused), by the state of their "
        "due: overdue (passed), due_today, due_soon (next working day), within.",
    ),
    Metric(
        "tthc_open_stages",
        "gauge",
        (*UNIT, "state"),
        "Inter-agency stages running now at the unit holding them, by the same states.",
    ),
    Metric(
        "tthc_received_today",
        "gauge",
        UNIT,
        "Dossiers received by the unit today (local day), all channels.",
    ),
    Metric(
        "tthc_resolved_today",
        "gauge",
        UNIT,
        "Dossiers the unit (as owner) returned a result for today (local day).",
    ),
    # -- Decision 766 --------------------------------------------------------------------
    Metric(
        "tthc_index766_rate_ratio",
        "gauge",
        ("report_unit", "indicator"),
        "Decision 766 indicator rate for the current period, 0-1 (2.1, 3.3, 3.6, 4.1, 4.2).",
    ),
    Metric(
        "tthc_index766_points",
        "gauge",
        ("report_unit", "indicator"),
        "Points scored on the indicator: full points at the target, else rate x points / target.",
    ),
    Metric(
        "tthc_index766_max_points",
        "gauge",
        ("indicator",),
        "Points the indicator is worth (configuration).",
    ),
    Metric(
        "tthc_index766_target_ratio",
        "gauge",
        ("indicator",),
        "The indicator's target, 0-1 (indicators without a target use 1).",
    ),
    Metric(
        "tthc_index766_gap_ratio",
        "gauge",
        ("report_unit", "indicator"),
        "Target minus rate, 0 when reached.",
    ),
    # -- pipeline (from Redis, written by the workers) ------------------------------------
    Metric(
        "tthc_pipeline_events_total",
        "counter",
        ("outcome",),
        "Events processed by the workers: applied, duplicate, refused (out of sequence, or "
        "an event id another dossier holds), dead_letter.",
    ),
    Metric(
        "tthc_pipeline_orphan_dossiers",
        "gauge",
        (),
        "Dossiers whose 'received' has not arrived yet (their events are held).",
    ),
    Metric(
        "tthc_pipeline_orphan_events",
        "gauge",
        (),
        "Events held for those dossiers; applied when their 'received' arrives.",
    ),
    Metric(
        "tthc_pipeline_applied_offset",
        "gauge",
        ("partition",),
        "Next offset of the events topic applied to Redis, per partition.",
    ),
    Metric("tthc_alerts_fired_total", "counter", ("level",), "Deadline alerts fired, by level."),
    Metric(
        "tthc_exporter_scrape_duration_seconds",
        "gauge",
        (),
        "Time the collector took to read Redis for this scrape.",
    ),
)

BY_NAME = {metric.name: metric for metric in CATALOGUE}

# Each worker's own endpoint (TTHC_WORKER_METRICS_PORT): pipeline health of one process.
WORKER_CATALOGUE: tuple[Metric, ...] = (
    Metric(
        "tthc_worker_events_total",
        "counter",
        ("outcome",),
        "Events this worker processed, by outcome: applied, duplicate, refused, dead_letter.",
    ),
    Metric(
        "tthc_worker_event_lag_seconds",
        "gauge",
        ("since",),
        "Histogram: time from a valid message to its batch being written in Redis "
        "(redeliveries included); since=occurred (event time) or since=arrival "
        "(Kafka message timestamp).",
    ),
    Metric(
        "tthc_worker_consumer_lag_messages",
        "gauge",
        ("partition",),
        "Messages of the partition not yet applied by this worker.",
    ),
    Metric("tthc_worker_batches_total", "counter", (), "Batches this worker applied."),
    Metric(
        "tthc_worker_store_refusals_total",
        "counter",
        ("script", "code"),
        "Store calls Redis refused before writing anything (a key of the wrong type, a "
        "counter that is not an integer), by script and Redis' error code; retried until "
        "the key is fixed.",
    ),
)


def render_markdown() -> str:
    lines = [
        "# Metrics",
        "",
        "Exposed by `tthc-monitor serve` at `/metrics`, read from Redis at scrape time.",
        "Generated from `tthc_monitor/metrics/catalogue.py`; a test keeps this page and",
        "the exporter in step.",
        "",
        "| metric | type | labels | meaning |",
        "|---|---|---|---|",
    ]
    for m in CATALOGUE:
        labels = ", ".join(f"`{label}`" for label in m.labels) or "—"
        lines.append(f"| `{m.name}` | {m.kind} | {labels} | {m.help} |")
    lines += [
        "",
        "## Each worker's own endpoint",
        "",
        "With `TTHC_WORKER_METRICS_PORT` set, every worker serves its pipeline health",
        "(`streams/worker_metrics.py`); Prometheus finds the replicas by DNS in compose.",
        "",
        "| metric | type | labels | meaning |",
        "|---|---|---|---|",
    ]
    for m in WORKER_CATALOGUE:
        labels = ", ".join(f"`{label}`" for label in m.labels) or "—"
        kind = "histogram" if m.name.endswith("_seconds") else m.kind
        lines.append(f"| `{m.name}` | {kind} | {labels} | {m.help} |")
    return "\n".join(lines) + "\n"
