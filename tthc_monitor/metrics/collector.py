"""A prometheus_client custom collector that reads Redis at scrape time.

Nothing is mirrored in process memory: each scrape reads the running totals, the
current period's counters, the statistics, the progress offsets and the due counts in
one MULTI (:mod:`tthc_monitor.metrics.live`) and derives every series, so the
exporter can restart freely and any number of them show the same figures.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from redis import Redis

from tthc_monitor.core.calendar import WorkingCalendar
from tthc_monitor.core.index766 import Indicator, scores
from tthc_monitor.core.periods import PeriodScheme
from tthc_monitor.core.snapshot import SNAPSHOT_FIELDS, build_snapshot
from tthc_monitor.metrics.catalogue import BY_NAME
from tthc_monitor.metrics.live import LiveReader, LiveState
from tthc_monitor.reference.registry import Registry
from tthc_monitor.store.keys import Keys

Ints = dict[str, int]
Counts = dict[str, Ints]

# Flow metric -> (catalogue metric, extra label name, label value)
FLOWS: dict[str, tuple[str, str | None, str | None]] = {
    "received_online": ("tthc_received_total", "channel", "online"),
    "received_direct": ("tthc_received_total", "channel", "direct"),
    "received_interagency": ("tthc_interagency_received_total", None, None),
    "transferred_out": ("tthc_transferred_out_total", None, None),
    "resolved_early": ("tthc_resolved_total", "timeliness", "early"),
    "resolved_on_time": ("tthc_resolved_total", "timeliness", "on_time"),
    "resolved_late": ("tthc_resolved_total", "timeliness", "late"),
    "late_as_initial": ("tthc_late_stages_total", "stage", "owner"),
    "late_as_interagency": ("tthc_late_stages_total", "stage", "interagency"),
    "dig_received": ("tthc_digitized_dossiers_total", "kind", "received"),
    "dig_with_components": ("tthc_digitized_dossiers_total", "kind", "with_components"),
    "dig_fully": ("tthc_digitized_dossiers_total", "kind", "fully"),
    "dig_resolved": ("tthc_digitized_dossiers_total", "kind", "resolved"),
    "dig_results": ("tthc_digitized_dossiers_total", "kind", "results"),
    "paid_national_portal": ("tthc_paid_dossiers_total", "channel", "national_portal"),
    "paid_one_stop": ("tthc_paid_dossiers_total", "channel", "one_stop"),
    "paid_offline": ("tthc_paid_dossiers_total", "channel", "offline"),
    "fee_dossiers": ("tthc_fee_dossiers_total", None, None),
    "apologized": ("tthc_apologized_total", None, None),
    "extended": ("tthc_extended_total", None, None),
    "withdrawn": ("tthc_withdrawn_total", None, None),
}
# The period gauges carry every integer field of the snapshot (docs/snapshot.md).
PERIOD_FIGURES = SNAPSHOT_FIELDS


def _family(name: str, **kwargs: Any) -> CounterMetricFamily | GaugeMetricFamily:
    spec = BY_NAME[name]
    base = name.removesuffix("_total") if spec.kind == "counter" else name
    cls = CounterMetricFamily if spec.kind == "counter" else GaugeMetricFamily
    return cls(base, spec.help, labels=list(spec.labels), **kwargs)


class RedisCollector(Collector):
    def __init__(
        self,
        redis: Redis,
        registry: Registry,
        periods: PeriodScheme,
        indicators: tuple[Indicator, ...],
        namespace: str = "tthc",
        period: str | None = None,
        clock: Callable[[], datetime] | None = None,
        calendar: WorkingCalendar | None = None,
    ) -> None:
        self.reader = LiveReader(redis, registry, calendar or WorkingCalendar(), namespace)
        self.redis = redis
        self.registry = registry
        self.periods = periods
        self.indicators = indicators
        self.keys = Keys(namespace)
        self.fixed_period = period
        self.clock = clock or (lambda: datetime.now(periods.tz))
        self.report_unit = {
            unit_id: (registry.ancestors(unit_id) or (unit_id,))[-1] for unit_id in registry.units
        }
        self.top = [u for u in registry.top_level()]

    def describe(self) -> Iterator[Metric]:
        return iter(())  # keeps registration from calling collect()

    def collect(self) -> Iterator[Metric]:
        started = time.perf_counter()
        now = self.clock()
        period = self.fixed_period or self.periods.period_of(now)
        state = self.reader.read(now, period)
        yield from self._all_time(state.totals)
        yield from self._period(state.counters, state.totals, period, now)
        yield from self._live(state)
        yield from self._pipeline(state.global_, state.stats, state.progress)
        duration = GaugeMetricFamily(
            "tthc_exporter_scrape_duration_seconds",
            BY_NAME["tthc_exporter_scrape_duration_seconds"].help,
        )
        duration.add_metric([], time.perf_counter() - started)
        yield duration

    def _all_time(self, running: dict[str, int]) -> Iterator[Metric]:
        """The counters: all-time sums of the flows, from the running totals."""
        totals: dict[tuple[str, str], int] = {}
        for field, value in running.items():
            unit_id, metric = field.split("|", 1)
            if metric in FLOWS:
                totals[(unit_id, metric)] = value
        families = {name: _family(name) for name, _, _ in FLOWS.values()}
        for (unit_id, metric), value in sorted(totals.items()):
            name, _, label = FLOWS[metric]
            labels = [unit_id, self.report_unit.get(unit_id, unit_id)]
            if label is not None:
                labels.append(label)
            families[name].add_metric(labels, value)
        yield from families.values()

    def _period(
        self,
        counters: dict[str, dict[str, int]],
        totals: dict[str, int],
        period: str,
        now: datetime,
    ) -> Iterator[Metric]:
        figures = _family("tthc_period_figure")
        snapshot = build_snapshot(period, self.periods, self.registry, counters, now, 1, totals)
        rows = {u["unit_id"]: u for u in snapshot["units"]}
        for unit_id in self.registry.units:
            entry = rows[unit_id]
            # Own figures: the snapshot rolls up, so take the unit minus its children
            # (a unit without figures of its own gets no series: every value is 0).
            for name in PERIOD_FIGURES:
                value = entry[name] - sum(rows[c][name] for c in self.registry.children(unit_id))
                if value:
                    figures.add_metric([unit_id, self.report_unit[unit_id], name], value)
        yield figures
        rates = _family("tthc_period_rate_ratio")
        index_rate = _family("tthc_index766_rate_ratio")
        index_points = _family("tthc_index766_points")
        index_gap = _family("tthc_index766_gap_ratio")
        for unit_id in self.top:
            e = rows[unit_id]
            total = (
                e["received_online"]
                + e["received_direct"]
                + e["carried_over"]
                + e["received_interagency"]
            )
            resolved = e["resolved_early"] + e["resolved_on_time"] + e["resolved_late"]
            for rate, num, den in (
                ("online", e["received_online"], total),
                ("on_time", e["resolved_early"] + e["resolved_on_time"], resolved),
                ("components_full", e["digitization"]["fully"], e["digitization"]["received"]),
                ("results", e["digitization"]["results"], e["digitization"]["resolved"]),
                ("online_payment", e["fees"]["paid_national_portal"], e["fees"]["dossiers"]),
            ):
                if den:
                    rates.add_metric([unit_id, rate], num / den)
            for score in scores(e, self.indicators):
                if score.rate is None:
                    continue  # not measured: no series rather than a zero
                labels = [unit_id, score.indicator.id]
                index_rate.add_metric(labels, score.rate)
                index_points.add_metric(labels, score.points or 0.0)
                index_gap.add_metric(labels, score.gap or 0.0)
        yield from (rates, index_rate, index_points, index_gap)
        max_points = _family("tthc_index766_max_points")
        target = _family("tthc_index766_target_ratio")
        for indicator in self.indicators:
            max_points.add_metric([indicator.id], indicator.points)
            target.add_metric([indicator.id], indicator.target or 1.0)
        yield from (max_points, target)
        start = _family("tthc_period_start_timestamp_seconds")
        start.add_metric([], self.periods.start(period).timestamp())
        yield start

    def _live(self, state: LiveState) -> Iterator[Metric]:
        dossiers, stages = _family("tthc_open_dossiers"), _family("tthc_open_stages")
        for unit_id, counts in sorted(state.open.items()):
            for (stage, name), value in sorted(counts.items()):
                family = dossiers if stage == "owner" else stages
                family.add_metric([unit_id, self.report_unit.get(unit_id, unit_id), name], value)
        received, resolved = _family("tthc_received_today"), _family("tthc_resolved_today")
        for unit_id, values in sorted(state.today.items()):
            labels = [unit_id, self.report_unit.get(unit_id, unit_id)]
            received.add_metric(labels, values.get("day_received", 0))
            resolved.add_metric(labels, values.get("day_resolved", 0))
        yield from (dossiers, stages, received, resolved)

    def _pipeline(
        self, global_: dict[str, int], stats: dict[str, int], progress: dict[str, int]
    ) -> Iterator[Metric]:
        events = _family("tthc_pipeline_events_total")
        for outcome, key in (
            ("applied", "applied"),
            ("duplicate", "duplicates"),
            ("refused", "refused"),
            ("dead_letter", "dead_letters"),
        ):
            events.add_metric([outcome], stats.get(key, 0))
        yield events
        orphans = _family("tthc_pipeline_orphan_dossiers")
        orphans.add_metric([], global_.get("|orphan_dossiers", 0))
        yield orphans
        held = _family("tthc_pipeline_orphan_events")
        held.add_metric([], global_.get("|orphan_events", 0))
        yield held
        offsets = _family("tthc_pipeline_applied_offset")
        for source, offset in sorted(progress.items()):
            offsets.add_metric([source.rsplit(":", 1)[-1]], offset)
        yield offsets
        fired = _family("tthc_alerts_fired_total")
        for key, value in sorted(stats.items()):
            if key.startswith("alerts_fired:"):
                fired.add_metric([key.split(":", 1)[1]], value)
        yield fired
