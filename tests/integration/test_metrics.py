"""The exporter reads Redis at scrape time: catalogue, period figures, rates."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from redis import Redis

from tests.integration import scenario
from tests.integration.conftest import Env
from tthc_monitor.core.periods import PeriodScheme
from tthc_monitor.metrics.catalogue import BY_NAME, CATALOGUE, render_markdown
from tthc_monitor.metrics.collector import ALERT_LEVELS, FLOWS, PERIOD_FIGURES, RedisCollector
from tthc_monitor.metrics.live import STATES
from tthc_monitor.reference.index766_files import load_indicators
from tthc_monitor.reference.registry import Registry

pytestmark = pytest.mark.integration
DOC = Path(__file__).resolve().parents[2] / "docs" / "metrics.md"
PARTITIONS = 8


@pytest.fixture
def loaded(env: Env, tmp_path: Path) -> Iterator[Env]:
    source = tmp_path / "scenario.jsonl"
    source.write_bytes(b"\n".join(scenario.stream()) + b"\n")
    env.cli("replay", str(source), "--skip-invalid")
    yield env


Series = dict[str, list[tuple[dict[str, str], float]]]


def exposition(env: Env, registry: Registry, period: str | None) -> str:
    """/metrics as `serve` writes it (8 partitions: the default topic)."""
    redis = Redis.from_url(env.services.redis_url, decode_responses=True)
    collectors = CollectorRegistry(auto_describe=False)
    collectors.register(
        RedisCollector(
            redis,
            registry,
            PeriodScheme(15),
            load_indicators(),
            env.namespace,
            period,
            partitions=range(PARTITIONS),
        )
    )
    return generate_latest(collectors).decode()


def scrape(env: Env, registry: Registry, period: str | None) -> Series:
    series: Series = defaultdict(list)
    for family in text_string_to_metric_families(exposition(env, registry, period)):
        # Families without samples still count as exposed (HELP and TYPE lines).
        series.setdefault(family.name + ("_total" if family.type == "counter" else ""), [])
        for sample in family.samples:
            series[sample.name].append((sample.labels, sample.value))
    return series


def test_exposed_metrics_equal_the_catalogue(loaded: Env, registry: Registry) -> None:
    series = scrape(loaded, registry, "2022-04")
    exposed = {name for name in series if not name.endswith("_created")}
    assert exposed == set(BY_NAME)
    assert DOC.read_text(encoding="utf-8") == render_markdown()
    # Counters only for what never goes down; every revisable figure is a gauge.
    counters = {m.name for m in CATALOGUE if m.kind == "counter"}
    assert counters == {"tthc_pipeline_events_total", "tthc_alerts_fired_total"}
    assert all(name.endswith("_total") == (name in counters) for name in BY_NAME)


APRIL_DAYS = (date(2022, 3, 15), date(2022, 4, 15))


def test_known_label_values_exist_at_zero(loaded: Env, registry: Registry) -> None:
    series = scrape(loaded, registry, "2022-04")
    fired = {labels["level"]: value for labels, value in series["tthc_alerts_fired_total"]}
    assert fired == {level: 0 for level in ALERT_LEVELS}  # replay fires no alert
    offsets = {labels["partition"] for labels, _ in series["tthc_pipeline_applied_offset"]}
    assert offsets == {str(p) for p in range(PARTITIONS)}
    # Units that can hold dossiers and are listed for April 2022 (registry versions).
    active = {
        u
        for u, unit in registry.units.items()
        if unit.kind != "procedure_scope" and registry.in_force_during(u, *APRIL_DAYS)
    }
    for metric, label in (
        ("tthc_received_dossiers", "channel"),
        ("tthc_resolved_dossiers", "timeliness"),
        ("tthc_late_stages", "stage"),
        ("tthc_digitized_dossiers", "kind"),
        ("tthc_paid_dossiers", "channel"),
        ("tthc_open_dossiers", "state"),
        ("tthc_open_stages", "state"),
        ("tthc_period_figure", "figure"),
    ):
        values = {v for _, (m, lab, v) in FLOWS.items() if m == metric and lab == label}
        if metric.startswith("tthc_open"):
            values = set(STATES)
        elif metric == "tthc_period_figure":
            values = set(PERIOD_FIGURES)
        got = {(labels["unit"], labels[label]) for labels, _ in series[metric]}
        assert got == {(u, v) for u in active for v in values}, metric
    # A unit that never saw a dossier (the Quảng Trị treasury) has its zeros.
    quiet = {
        labels["channel"]: value
        for labels, value in series["tthc_received_dossiers"]
        if labels["unit"] == "kho-bac-nha-nuoc"
    }
    assert quiet == {"online": 0, "direct": 0}


def test_unit_info_names_every_registry_unit(loaded: Env, registry: Registry) -> None:
    series = scrape(loaded, registry, "2022-04")
    info = {labels["unit"]: (labels, value) for labels, value in series["tthc_unit_info"]}
    assert set(info) == set(registry.units)
    for unit_id, unit in registry.units.items():
        labels, value = info[unit_id]
        assert value == 1
        assert labels == {
            "unit": unit_id,
            "name": unit.name,
            "parent": unit.parent_id or "",
            "level": unit.level,
            "kind": unit.kind,
            "report_group": unit.report_group,
            # Listed for the period shown (registry versions): in force in 2022-04 here.
            "in_force": "true" if registry.in_force_during(unit_id, *APRIL_DAYS) else "false",
        }
    assert info[scenario.S][0]["name"] == "Sở Tư pháp"


def test_freshness_and_redis_memory(loaded: Env, registry: Registry) -> None:
    series = scrape(loaded, registry, "2022-04")
    ((_, event_at),) = series["tthc_pipeline_last_event_timestamp_seconds"]
    ((_, applied_at),) = series["tthc_pipeline_last_applied_timestamp_seconds"]
    latest = max(datetime.fromisoformat(e["occurred_at"]) for e in scenario.events())
    assert event_at == latest.timestamp()
    assert 0 < time.time() - applied_at < 600  # the replay just wrote it
    ((_, used),) = series["tthc_redis_memory_used_bytes"]
    ((_, limit),) = series["tthc_redis_memory_max_bytes"]
    info = Redis.from_url(loaded.services.redis_url).info("memory")
    assert used > 0 and limit == info["maxmemory"]


def test_period_figures_and_rates_equal_the_snapshot(
    loaded: Env, registry: Registry, tmp_path: Path
) -> None:
    out = tmp_path / "snapshot.json"
    loaded.cli("snapshot", "--period", "2022-04", "--json", str(out))
    rows = {u["unit_id"]: u for u in json.loads(out.read_text())["units"]}
    series = scrape(loaded, registry, "2022-04")
    by_row: dict[tuple[str, str], float] = defaultdict(float)
    for labels, value in series["tthc_period_figure"]:
        by_row[(labels["report_unit"], labels["figure"])] += value
    for unit_id in registry.top_level(APRIL_DAYS):
        for figure in PERIOD_FIGURES:
            assert by_row.get((unit_id, figure), 0) == rows[unit_id][figure], (unit_id, figure)
    rates = {(k["report_unit"], k["rate"]): v for k, v in series["tthc_period_rate_ratio"]}
    s = rows[scenario.S]
    assert rates[(scenario.S, "on_time")] == pytest.approx(
        (s["resolved_early"] + s["resolved_on_time"])
        / (s["resolved_early"] + s["resolved_on_time"] + s["resolved_late"])
    )
    assert rates[(scenario.S, "online_payment")] == pytest.approx(2 / 10)
    assert (scenario.T, "components_full") not in rates  # 0/0: no series, never a zero


def test_a_user_refused_info_still_gets_every_other_series(loaded: Env, registry: Registry) -> None:
    """INFO is in @dangerous: without +info the memory series are empty, not a failed
    scrape (docs/security.md gives the ACL user +info)."""
    admin = Redis.from_url(loaded.services.redis_url, decode_responses=True)
    user, password = f"noinfo-{loaded.tag}", f"pw-{loaded.tag}"
    admin.acl_setuser(
        user,
        enabled=True,
        passwords=[f"+{password}"],
        keys=[f"{loaded.namespace}:*"],
        channels=["*"],
        commands=["+@all", "-@admin", "-@dangerous"],
    )
    try:
        client = Redis(
            host=admin.connection_pool.connection_kwargs["host"],
            port=admin.connection_pool.connection_kwargs["port"],
            username=user,
            password=password,
            decode_responses=True,
        )
        collectors = CollectorRegistry(auto_describe=False)
        collectors.register(
            RedisCollector(
                client, registry, PeriodScheme(15), load_indicators(), loaded.namespace, "2022-04"
            )
        )
        series: Series = defaultdict(list)
        for family in text_string_to_metric_families(generate_latest(collectors).decode()):
            series.setdefault(family.name, [])
            for sample in family.samples:
                series[sample.name].append((sample.labels, sample.value))
        assert series["tthc_redis_memory_used_bytes"] == []
        assert series["tthc_redis_memory_max_bytes"] == []
        assert (
            series["tthc_received_dossiers"]
            == scrape(loaded, registry, "2022-04")["tthc_received_dossiers"]
        )
    finally:
        admin.acl_deluser(user)
