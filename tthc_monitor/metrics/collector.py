"""A prometheus_client custom collector that reads Redis at scrape time.

Nothing is mirrored in process memory: each scrape reads the running totals, the
current period's counters, the statistics, the progress offsets and the due counts in
one MULTI (:mod:`tthc_monitor.metrics.live`), then Redis' ``INFO memory``, and derives
every series, so the exporter can restart freely and any number of them show the same
figures. Series of known label values are written at 0 when Redis holds nothing for
them (docs/metrics.md, "Counters and gauges").
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any, get_args

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from redis import Redis
from redis.exceptions import NoPermissionError

from tthc_monitor.core.alerts import Level
from tthc_monitor.core.calendar import WorkingCalendar
from tthc_monitor.core.figures import (
    digitized_results_share,
    full_components_share,
    on_time_share_of_resolved,
    online_payment_share,
    online_share_of_received,
)
from tthc_monitor.core.index766 import Indicator, scores
from tthc_monitor.core.periods import PeriodScheme
from tthc_monitor.core.snapshot import SNAPSHOT_FIELDS, build_snapshot
from tthc_monitor.metrics.catalogue import BY_NAME
from tthc_monitor.metrics.live import STATES, LiveReader, LiveState
from tthc_monitor.reference.registry import PROCEDURE_SCOPE_KIND, Registry
from tthc_monitor.store.keys import Keys

log = logging.getLogger(__name__)

Ints = dict[str, int]
Counts = dict[str, Ints]

# Flow metric -> (catalogue metric, extra label name, label value)
FLOWS: dict[str, tuple[str, str | None, str | None]] = {
    "received_online": ("tthc_received_dossiers", "channel", "online"),
    "received_direct": ("tthc_received_dossiers", "channel", "direct"),
    "received_interagency": ("tthc_interagency_received_stages", None, None),
    "transferred_out": ("tthc_transferred_out_stages", None, None),
    "resolved_early": ("tthc_resolved_dossiers", "timeliness", "early"),
    "resolved_on_time": ("tthc_resolved_dossiers", "timeliness", "on_time"),
    "resolved_late": ("tthc_resolved_dossiers", "timeliness", "late"),
    "late_as_initial": ("tthc_late_stages", "stage", "owner"),
    "late_as_interagency": ("tthc_late_stages", "stage", "interagency"),
    "dig_received": ("tthc_digitized_dossiers", "kind", "received"),
    "dig_with_components": ("tthc_digitized_dossiers", "kind", "with_components"),
    "dig_fully": ("tthc_digitized_dossiers", "kind", "fully"),
    "dig_resolved": ("tthc_digitized_dossiers", "kind", "resolved"),
    "dig_results": ("tthc_digitized_dossiers", "kind", "results"),
    "paid_national_portal": ("tthc_paid_dossiers", "channel", "national_portal"),
    "paid_one_stop": ("tthc_paid_dossiers", "channel", "one_stop"),
    "paid_offline": ("tthc_paid_dossiers", "channel", "offline"),
    "fee_dossiers": ("tthc_fee_dossiers", None, None),
    "apologized": ("tthc_apologies", None, None),
    "extended": ("tthc_extensions", None, None),
    "withdrawn": ("tthc_withdrawn_dossiers", None, None),
}
# The period gauges carry every integer field of the snapshot (docs/snapshot.md).
PERIOD_FIGURES = SNAPSHOT_FIELDS
ALERT_LEVELS: tuple[str, ...] = get_args(Level)
# tthc_pipeline_events_total's outcomes and the statistics ({ns}:stats) they count.
OUTCOMES = (
    ("applied", "applied"),
    ("duplicate", "duplicates"),
    ("refused", "refused"),
    ("dead_letter", "dead_letters"),
)


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
        partitions: Iterable[int] = (),
    ) -> None:
        """``partitions``: those of the events topic, exposed at offset 0 until Redis
        records progress for them (a store filled by ``replay`` has none)."""
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
        # Units that can hold dossiers: their series exist at 0 from the first scrape.
        self.active = [
            unit_id for unit_id, unit in registry.units.items() if unit.kind != PROCEDURE_SCOPE_KIND
        ]
        self._info_refused = False
        self.partitions = tuple(str(p) for p in partitions)
        # The registry does not change while the exporter runs: built once.
        self.unit_info = [
            [
                unit.unit_id,
                unit.name,
                unit.parent_id or "",
                unit.level,
                unit.kind,
                unit.report_group,
            ]
            for unit in registry.units.values()
        ]

    def describe(self) -> Iterator[Metric]:
        return iter(())  # keeps registration from calling collect()

    def collect(self) -> Iterator[Metric]:
        started = time.perf_counter()
        now = self.clock()
        period = self.fixed_period or self.periods.period_of(now)
        state = self.reader.read(now, period)
        snapshot = build_snapshot(
            period, self.periods, self.registry, state.counters, now, 1, state.totals
        )
        rows = {u["unit_id"]: u for u in snapshot["units"]}
        # Registry versions: the units listed for the period (in force on some day of
        # it, or holding a figure) get their series at 0; others only what they hold.
        listed = frozenset(u for u in self.active if u in rows)
        yield from self._all_time(state.totals, listed)
        yield from self._period(rows, period, listed)
        yield from self._live(state, listed)
        yield from self._pipeline(state.global_, state.stats, state.progress)
        yield from self._freshness(state.freshness)
        yield from self._registry(rows)
        yield from self._redis_memory()
        duration = GaugeMetricFamily(
            "tthc_exporter_scrape_duration_seconds",
            BY_NAME["tthc_exporter_scrape_duration_seconds"].help,
        )
        duration.add_metric([], time.perf_counter() - started)
        yield duration

    def _all_time(self, running: dict[str, int], listed: frozenset[str]) -> Iterator[Metric]:
        """All-time sums of the flows, from the running totals: gauges, since a late
        event can revise them (docs/metrics.md)."""
        totals: dict[tuple[str, str], int] = {
            (unit_id, metric): 0 for unit_id in listed for metric in FLOWS
        }
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
        self, rows: dict[str, dict[str, Any]], period: str, listed: frozenset[str]
    ) -> Iterator[Metric]:
        figures = _family("tthc_period_figure")
        for unit_id in self.registry.units:
            row = rows.get(unit_id)
            if row is None:
                continue  # not listed for the period (registry versions)
            # Own figures: the snapshot rolls up, so take the unit minus its children
            # (plain loops: this runs for every unit and figure at every scrape).
            own = {name: row[name] for name in PERIOD_FIGURES}
            for child in self.registry.children(unit_id):
                child_row = rows.get(child)
                if child_row is None:
                    continue
                for name in PERIOD_FIGURES:
                    own[name] -= child_row[name]
            zeros = unit_id in listed
            report_unit = self.report_unit[unit_id]
            for name, value in own.items():
                if value or zeros:
                    figures.add_metric([unit_id, report_unit, name], value)
        yield figures
        rates = _family("tthc_period_rate_ratio")
        index_rate = _family("tthc_index766_rate_ratio")
        index_points = _family("tthc_index766_points")
        index_gap = _family("tthc_index766_gap_ratio")
        for unit_id in self.top:
            e = rows.get(unit_id)
            if e is None:
                continue
            for rate, share in (
                ("online", online_share_of_received(e)),  # PL1's, not 766's 3.3
                ("on_time", on_time_share_of_resolved(e)),
                ("components_full", full_components_share(e)),
                ("results", digitized_results_share(e)),
                ("online_payment", online_payment_share(e)),
            ):
                if share.value is not None:
                    rates.add_metric([unit_id, rate], share.value)
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

    def _live(self, state: LiveState, listed: frozenset[str]) -> Iterator[Metric]:
        dossiers, stages = _family("tthc_open_dossiers"), _family("tthc_open_stages")
        units = sorted(listed | set(state.open) | set(state.today))
        for unit_id in units:
            counts = state.open.get(unit_id, {})
            report_unit = self.report_unit.get(unit_id, unit_id)
            for name in STATES:
                dossiers.add_metric([unit_id, report_unit, name], counts.get(("owner", name), 0))
                stages.add_metric(
                    [unit_id, report_unit, name], counts.get(("interagency", name), 0)
                )
        received, resolved = _family("tthc_received_today"), _family("tthc_resolved_today")
        for unit_id in units:
            values = state.today.get(unit_id, {})
            labels = [unit_id, self.report_unit.get(unit_id, unit_id)]
            received.add_metric(labels, values.get("day_received", 0))
            resolved.add_metric(labels, values.get("day_resolved", 0))
        yield from (dossiers, stages, received, resolved)

    def _pipeline(
        self, global_: dict[str, int], stats: dict[str, int], progress: dict[str, int]
    ) -> Iterator[Metric]:
        events = _family("tthc_pipeline_events_total")
        for outcome, key in OUTCOMES:
            events.add_metric([outcome], stats.get(key, 0))
        yield events
        orphans = _family("tthc_pipeline_orphan_dossiers")
        orphans.add_metric([], global_.get("|orphan_dossiers", 0))
        yield orphans
        held = _family("tthc_pipeline_orphan_events")
        held.add_metric([], global_.get("|orphan_events", 0))
        yield held
        offsets = _family("tthc_pipeline_applied_offset")
        by_partition = {partition: 0 for partition in self.partitions}
        for source, offset in progress.items():
            by_partition[source.rsplit(":", 1)[-1]] = offset
        # Numeric order of the partition numbers ("2" before "10").
        for partition, offset in sorted(by_partition.items(), key=lambda p: (len(p[0]), p[0])):
            offsets.add_metric([partition], offset)
        yield offsets
        fired = _family("tthc_alerts_fired_total")
        levels = {level: 0 for level in ALERT_LEVELS}
        for key, value in stats.items():
            if key.startswith("alerts_fired:"):
                levels[key.split(":", 1)[1]] = value
        for level, value in sorted(levels.items()):
            fired.add_metric([level], value)
        yield fired

    def _freshness(self, freshness: dict[str, int]) -> Iterator[Metric]:
        """How recent the figures are (0 before the first event is applied)."""
        event = _family("tthc_pipeline_last_event_timestamp_seconds")
        event.add_metric([], freshness.get("event_ms", 0) / 1000)
        applied = _family("tthc_pipeline_last_applied_timestamp_seconds")
        applied.add_metric([], freshness.get("applied_ms", 0) / 1000)
        yield from (event, applied)

    def _registry(self, rows: dict[str, Any]) -> Iterator[Metric]:
        info = _family("tthc_unit_info")
        for labels in self.unit_info:
            info.add_metric([*labels, "true" if labels[0] in rows else "false"], 1)
        yield info

    def _redis_memory(self) -> Iterator[Metric]:
        used = _family("tthc_redis_memory_used_bytes")
        limit = _family("tthc_redis_memory_max_bytes")
        try:
            memory: dict[str, Any] = self.redis.info("memory")
        except NoPermissionError:
            # An ACL user without +info (INFO is in @dangerous): the families stay
            # empty rather than failing the whole scrape; docs/security.md adds +info.
            if not self._info_refused:
                log.warning("Redis refused INFO to this user: no tthc_redis_memory_* series")
                self._info_refused = True
        else:
            used.add_metric([], float(memory.get("used_memory", 0)))
            limit.add_metric([], float(memory.get("maxmemory", 0)))
        yield from (used, limit)
