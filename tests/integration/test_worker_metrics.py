"""The worker's own endpoint: events by outcome, lag histograms, consumer lag."""

from __future__ import annotations

import time
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.integration import scenario
from tests.integration.conftest import Env
from tests.integration.test_pipeline import produce, wait_applied
from tthc_monitor.embedded import free_port

pytestmark = pytest.mark.integration


def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_worker_reports_its_pipeline(env: Env, tmp_path: Path) -> None:
    port = free_port()
    env.extra["TTHC_WORKER_METRICS_PORT"] = str(port)
    env.start_worker(tmp_path)
    produce(env, scenario.stream())
    wait_applied(env)
    time.sleep(0.5)
    samples = scrape(port)
    valid = len(scenario.events())
    assert samples[("tthc_worker_events_total", (("outcome", "applied"),))] == valid
    assert samples[("tthc_worker_events_total", (("outcome", "dead_letter"),))] == 3
    assert samples[("tthc_worker_events_total", (("outcome", "duplicate"),))] == 12
    # Every valid message was observed, redelivered ones included (12).
    processed = valid + 12
    assert samples[("tthc_worker_event_lag_seconds_count", (("since", "occurred"),))] == processed
    arrival = samples[("tthc_worker_event_lag_seconds_count", (("since", "arrival"),))]
    assert arrival == processed
    lags = [v for (name, _), v in samples.items() if name == "tthc_worker_consumer_lag_messages"]
    assert lags and all(v == 0 for v in lags)


def test_worker_catalogue_matches_the_endpoint(env: Env, tmp_path: Path) -> None:
    from streams.worker_metrics import REGISTRY
    from tthc_monitor.metrics.catalogue import WORKER_CATALOGUE

    exposed = {
        family.name + ("_total" if family.type == "counter" else "")
        for family in REGISTRY.collect()
    }
    assert exposed == {m.name for m in WORKER_CATALOGUE}
