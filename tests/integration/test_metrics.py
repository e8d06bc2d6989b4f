"""The exporter reads Redis at scrape time: catalogue, period figures, rates."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from redis import Redis

from tests.integration import scenario
from tests.integration.conftest import Env
from tthc_monitor.core.index766 import load_indicators
from tthc_monitor.core.periods import PeriodScheme
from tthc_monitor.metrics.catalogue import BY_NAME, render_markdown
from tthc_monitor.metrics.collector import PERIOD_FIGURES, RedisCollector
from tthc_monitor.reference.registry import Registry

pytestmark = pytest.mark.integration
DOC = Path(__file__).resolve().parents[2] / "docs" / "metrics.md"


@pytest.fixture
def loaded(env: Env, tmp_path: Path) -> Iterator[Env]:
    source = tmp_path / "scenario.jsonl"
    source.write_bytes(b"\n".join(scenario.stream()) + b"\n")
    env.cli("replay", str(source))
    yield env


Series = dict[str, list[tuple[dict[str, str], float]]]


def scrape(env: Env, registry: Registry, period: str) -> Series:
    redis = Redis.from_url(env.services.redis_url, decode_responses=True)
    collectors = CollectorRegistry(auto_describe=False)
    collectors.register(
        RedisCollector(redis, registry, PeriodScheme(15), load_indicators(), env.namespace, period)
    )
    text = generate_latest(collectors).decode()
    series: Series = defaultdict(list)
    for family in text_string_to_metric_families(text):
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
    for unit_id in registry.top_level():
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
