"""Every metric the exporter exposes, in one place (rendered into docs/metrics.md).

Labels are bounded: ``unit`` (a registry unit id), ``report_unit`` (its top-level unit,
the row of the monthly report), and small enumerations. Never a dossier id. The all-time
and period figures carry each unit's *own* figures, so ``sum by (report_unit)`` gives a
report row without double counting; rates are per report row, since ratios do not add.

Type rule (``COUNTER_RULE``, rendered into docs/metrics.md): a figure that a late or
reordered event can revise is a gauge, never a counter, since Prometheus reads any
decrease of a counter as a restart of the process.
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
    # -- all-time figures, per unit: gauges (a late event can revise them) --------------
    Metric(
        "tthc_received_dossiers",
        "gauge",
        (*UNIT, "channel"),
        "Dossiers received by the unit as owner; channel online or direct (incl. postal).",
    ),
    Metric(
        "tthc_interagency_received_stages",
        "gauge",
        UNIT,
        "Inter-agency stages started at the unit (dossier transferred in, liên thông).",
    ),
    Metric(
        "tthc_transferred_out_stages",
        "gauge",
        UNIT,
        "Transfers made by the unit (handing a dossier on).",
    ),
    Metric(
        "tthc_resolved_dossiers",
        "gauge",
        (*UNIT, "timeliness"),
        "Dossiers resolved by the owner and inter-agency stages finished at the unit, "
        "by timeliness: early, on_time, late.",
    ),
    Metric(
        "tthc_late_stages",
        "gauge",
        (*UNIT, "stage"),
        "Stages that finished late at the unit; stage owner (late as initial unit) or interagency.",
    ),
    Metric(
        "tthc_digitized_dossiers",
        "gauge",
        (*UNIT, "kind"),
        "Dossiers counted by the digitization appendix: received (in scope), "
        "with_components, fully, resolved (in scope), results.",
    ),
    Metric(
        "tthc_paid_dossiers",
        "gauge",
        (*UNIT, "channel"),
        "Fee-bearing dossiers paid, by channel national_portal, one_stop, offline.",
    ),
    Metric(
        "tthc_fee_dossiers",
        "gauge",
        UNIT,
        "Dossiers of fee-bearing procedures received by the unit.",
    ),
    Metric("tthc_apologies", "gauge", UNIT, "Apology letters issued by the unit."),
    Metric("tthc_extensions", "gauge", UNIT, "Deadline extensions granted by the unit."),
    Metric("tthc_withdrawn_dossiers", "gauge", UNIT, "Dossiers of the unit withdrawn."),
    # -- the registry ------------------------------------------------------------------
    Metric(
        "tthc_unit_info",
        "gauge",
        ("unit", "name", "parent", "level", "kind", "report_group", "in_force"),
        "Always 1, one series per unit of the registry: its name, parent unit id (empty "
        "at the top), level, kind, report group (empty: not a report row) and in_force "
        "(true when the unit is listed for the period shown: in force on some day of it, "
        "or holding a figure in it; registry versions). Join it to show names: "
        "`* on (unit) group_left (name) tthc_unit_info`.",
    ),
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
    Metric(
        "tthc_pipeline_last_event_timestamp_seconds",
        "gauge",
        (),
        "Time of the latest event applied to Redis (its occurred_at, capped at the time "
        "of its write; Unix time); 0 before the first. Only moves forward: a late event "
        "does not move it. The figures are as of this time.",
    ),
    Metric(
        "tthc_pipeline_last_applied_timestamp_seconds",
        "gauge",
        (),
        "When that latest event was applied (Redis' clock, Unix time); 0 before the "
        "first. `time() - tthc_pipeline_last_applied_timestamp_seconds` is the figures' "
        "age.",
    ),
    Metric(
        "tthc_alerts_fired_total",
        "counter",
        ("level",),
        "Deadline alerts fired, by level: due_soon, due_today, overdue, apology_missing.",
    ),
    Metric(
        "tthc_exporter_scrape_duration_seconds",
        "gauge",
        (),
        "Time the collector took to read Redis for this scrape.",
    ),
    Metric(
        "tthc_redis_memory_used_bytes",
        "gauge",
        (),
        "Memory Redis uses (INFO memory: used_memory), read at scrape time; no sample "
        "when Redis refuses INFO to the exporter's ACL user (it needs +info).",
    ),
    Metric(
        "tthc_redis_memory_max_bytes",
        "gauge",
        (),
        "Redis' maxmemory (INFO memory); 0 when no limit is set.",
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


COUNTER_RULE = """\
## Counters and gauges

Prometheus reads any decrease of a counter as a restart of the process that exposes it,
so `rate()` and `increase()` over a decrease count the whole value again. Here a counter
(type counter, name ending in `_total`) is used only for what can never go down:
events processed by outcome, alerts fired, a worker's batches and Redis' refusals.

Every per-unit figure is a gauge, because events can revise it. The figures of a dossier
are recomputed from all its events each time one arrives, and the figures of the units
move by the difference. Some examples:

* an `extended` event dated before a late resolution that arrives after it turns the
  resolution from `late` into `on_time`, so `tthc_resolved_dossiers{timeliness="late"}`
  goes down by one;
* a `received` event that arrives after the dossier's other events releases the held
  events, and every figure they make moves at once.

The counters that remain were checked to only grow. `tthc_pipeline_events_total` and
`tthc_alerts_fired_total` read fields of `{ns}:stats` that the store's scripts only ever
raise with `HINCRBY` by a positive amount (an alert is claimed once, in
`claim_alerts.lua`). The workers' `tthc_worker_*_total` are counters in the worker's
process. They fall to 0 only when the process restarts, or when the namespace is
dropped and rebuilt, and Prometheus reads that as the reset it is.

So the all-time figures (`tthc_received_dossiers`, `tthc_resolved_dossiers`, …) are
gauges without `_total`. To see how much one grew over a range, use `delta()` (or
`x - x offset 1h`), not `increase()`. A revision shows as a negative delta, which is
the truth: the figure of the day has changed. The period figures
(`tthc_period_figure`) and the day figures (`tthc_received_today`) are gauges already.

Known label values are exposed at 0 from the first scrape, so a panel or rule never
sees a missing series where the answer is zero. This covers every unit of the registry
that can hold dossiers (not the procedure-scope units) with every channel, timeliness,
stage, kind, state and period figure; every alert level; every outcome; and every
partition of the events topic (`TTHC_PARTITIONS`). A rate whose denominator is 0 and a
Decision 766 indicator that has not been measured have no series. They are not shown
as 0, because 0/0 is not 0 %.

Unit names come from `tthc_unit_info`, read from the registry the exporter loaded. Any
query joins it: `sum by (unit) (tthc_open_dossiers) * on (unit) group_left (name)
tthc_unit_info`. For a report row, relabel `unit` to `report_unit`:
`label_replace(tthc_unit_info, "report_unit", "$1", "unit", "(.+)")`. No dashboard or
rule has to hard-code a name, so a province that brings its own registry needs no change.
"""


def render_markdown() -> str:
    lines = [
        "# Metrics",
        "",
        "Exposed by `tthc-monitor serve` at `/metrics`, read from Redis at scrape time.",
        "Generated from `tthc_monitor/metrics/catalogue.py`; a test keeps this page and",
        "the exporter in step.",
        "",
        COUNTER_RULE,
        "## The exporter's metrics",
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
