"""Every dashboard query, for real: worker -> Redis -> serve -> Debian's Prometheus.

The hand-written scenario (tests/integration/scenario.py, incl. its invalid lines) goes
through Kafka and a real worker whose clock stands at 14/4/2022 16:00, so the pipeline
series the operations dashboard shows exist too: applied offsets, dead letters, deadline
alerts fired. `tthc-monitor serve --period 2022-04` exposes it; a Prometheus started here
scrapes it and the worker's own endpoint every second, as the two jobs of
dashboards/prometheus/prometheus.yml. Then each PromQL expression of each panel of each
dashboard is evaluated through /api/v1/query and must return data; the wall's tables
must list every report row under its registry name with the snapshot's figures
(`tthc-monitor snapshot --json`); the unit variable's regex must turn the real
`tthc_unit_info` series into (unit id, name) options.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.fixtures import APRIL_2022_DAYS
from tests.integration import scenario
from tests.integration.conftest import ROOT, Env
from tests.integration.test_pipeline import produce, wait_applied
from tests.programs import require
from tests.unit.test_dashboards import (
    dashboards,
    expressions,
    groups_of,
    matchers,
    query_result_line,
    variable_options,
    wall_tables,
)
from tthc_monitor.core.index766 import scores
from tthc_monitor.embedded import free_port
from tthc_monitor.reference.index766_files import load_indicators
from tthc_monitor.reference.registry import Registry

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

PERIOD = "2022-04"
CLOCK = "2022-04-14T16:00:00+07:00"
# Concrete values for Grafana's variables. $__range: the wall counts "today" from
# midnight; an hour covers every sample this test produces.
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__range": "1h", "$__interval": "15s"}
LEVELS = ("due_soon", "due_today", "overdue", "apology_missing")
# Redis' maxmemory for the test (0, unlimited, leaves the memory ratio without a value).
MAXMEMORY = 1 << 30


def get_json(url: str, timeout: float = 5) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read())


def wait_for(check: Any, what: str, timeout: float, process: subprocess.Popen[bytes]) -> Any:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{what}: process exited {process.returncode}")
        try:
            result = check()
            if result:
                return result
        except OSError as error:
            last = error
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what} ({last})")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class Stack:
    env: Env
    prometheus: str
    snapshot: dict[str, Any]

    def query(self, expr: str) -> list[dict[str, Any]]:
        url = f"{self.prometheus}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        document = get_json(url)
        assert document["status"] == "success", (expr, document)
        assert document["data"]["resultType"] == "vector", expr
        result: list[dict[str, Any]] = document["data"]["result"]
        return result


@pytest.fixture(scope="module")
def stack(services: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    binary = require("prometheus", "prometheus")
    tmp = tmp_path_factory.mktemp("dashboards")
    env = Env(services)
    clock = tmp / "clock"
    clock.write_text(CLOCK)
    env.extra["TTHC_CLOCK_FILE"] = str(clock)
    processes: list[subprocess.Popen[bytes]] = []
    worker_port = free_port()
    env.extra["TTHC_WORKER_METRICS_PORT"] = str(worker_port)
    redis = env.redis()
    maxmemory = str(redis.config_get("maxmemory")["maxmemory"])
    try:
        redis.config_set("maxmemory", MAXMEMORY)
        env.start_worker(tmp)
        produce(env, scenario.stream())
        wait_applied(env)
        env.wait_stats(lambda s: all(s.get(f"alerts_fired:{level}") for level in LEVELS), 60)

        out = tmp / "snapshot.json"
        env.cli("snapshot", "--period", PERIOD, "--json", str(out))
        snapshot = json.loads(out.read_text())

        port = free_port()
        serve = subprocess.Popen(
            [
                *(sys.executable, "-m", "tthc_monitor.cli.main", "serve"),
                *("--host", "127.0.0.1", "--port", str(port), "--period", PERIOD),
            ],
            env=env.vars(),
            stdout=(tmp / "serve.log").open("wb"),
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
        processes.append(serve)
        wait_for(lambda: get_json(f"http://127.0.0.1:{port}/healthz"), "serve", 30, serve)

        config = tmp / "prometheus.yml"
        config.write_text(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
            "scrape_configs:\n  - job_name: tthc-monitor\n"
            f"    static_configs:\n      - targets: ['127.0.0.1:{port}']\n"
            "  - job_name: tthc-worker\n"
            f"    static_configs:\n      - targets: ['127.0.0.1:{worker_port}']\n"
        )
        web = f"127.0.0.1:{free_port()}"
        prometheus = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={tmp / 'tsdb'}",
                f"--web.listen-address={web}",
                "--log.level=warn",
            ],
            stdout=(tmp / "prometheus.log").open("wb"),
            stderr=subprocess.STDOUT,
            cwd=tmp,
        )
        processes.append(prometheus)
        stack = Stack(env, f"http://{web}", snapshot)

        def scraped() -> bool:
            # Three scrapes: rate() and increase() need two samples in their window.
            samples = stack.query("count by (job) (count_over_time(up[1m]) >= 3)")
            return len(samples) == 2

        wait_for(scraped, "three scrapes of serve and of the worker", 30, prometheus)
        for job in ("tthc-monitor", "tthc-worker"):
            (up,) = stack.query(f'up{{job="{job}"}}')
            assert up["value"][1] == "1", f"Prometheus scraped {job} but the scrape failed"
        yield stack
    finally:
        for process in reversed(processes):
            stop(process)
        env.stop()
        redis.config_set("maxmemory", maxmemory)


def concrete(expr: str, unit: str | None = None) -> str:
    for name, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(name, value)
    if unit is not None:
        expr = expr.replace("$report_unit", unit)
    # Grafana leaves "$1" (label_replace's replacement) alone: no variable has that name.
    assert not re.search(r"\$(?!\d)\w", expr), f"unreplaced variable in {expr}"
    return expr


def report_units(stack: Stack) -> list[str]:
    """The values of the unit dashboard's variable, derived as Grafana does: its
    query_result() query, each series printed as a line, the regex applied."""
    (variable,) = dashboards()["tthc-unit.json"]["templating"]["list"]
    inner = variable["query"].removeprefix("query_result(").removesuffix(")")
    lines = [query_result_line(r["metric"]) for r in stack.query(inner)]
    return sorted(value for value, _ in variable_options(variable, lines))


def test_unit_variable_lists_every_report_row_by_name(stack: Stack, registry: Registry) -> None:
    (variable,) = dashboards()["tthc-unit.json"]["templating"]["list"]
    inner = variable["query"].removeprefix("query_result(").removesuffix(")")
    lines = [query_result_line(r["metric"]) for r in stack.query(inner)]
    options = dict(variable_options(variable, lines))
    assert options == {u: registry.units[u].name for u in registry.top_level(APRIL_2022_DAYS)}
    assert report_units(stack) == sorted(registry.top_level(APRIL_2022_DAYS))


def test_every_panel_query_returns_data(stack: Stack) -> None:
    units = report_units(stack)
    assert {"so-tu-phap", "so-y-te", "ubnd-cam-lo", "cuc-thue"} <= set(units)
    empty = []
    count = 0
    for name, dashboard in dashboards().items():
        for panel, expr in expressions(dashboard):
            count += 1
            where = f"{name} / {panel['title']}: {expr}"
            if "$report_unit" in expr:
                # The variable's values: the panel must show data for at least one unit,
                # and the stats (which fall back to 0) for every unit.
                answers = {u: stack.query(concrete(expr, u)) for u in units}
                if not any(answers.values()):
                    empty.append(where)
                if panel["type"] == "stat":
                    assert all(answers.values()), where
            elif not stack.query(concrete(expr)):
                # A wall table's column may be empty for its half of the report rows when
                # the scenario has no such dossier there (no fee-bearing dossier at the
                # districts): the same column must then have data for some report group.
                anywhere = re.sub(r'report_group=~"[^"]*"', 'report_group=~".+"', expr)
                if anywhere == expr or not stack.query(concrete(anywhere)):
                    empty.append(where)
    assert count >= 30
    assert not empty, "queries without data:\n" + "\n".join(empty)


def snapshot_rates(snapshot: dict[str, Any], registry: Registry) -> dict[tuple[str, str], float]:
    """The appendices' rates per report row, computed from the snapshot's rolled-up rows."""
    rows = {u["unit_id"]: u for u in snapshot["units"]}
    rates = {}
    for unit_id in registry.top_level(APRIL_2022_DAYS):
        e = rows[unit_id]
        total = e["received_online"] + e["received_direct"] + e["carried_over"]
        total += e["received_interagency"]
        resolved = e["resolved_early"] + e["resolved_on_time"] + e["resolved_late"]
        dig, fees = e["digitization"], e["fees"]
        for rate, num, den in (
            ("online", e["received_online"], total),
            ("on_time", e["resolved_early"] + e["resolved_on_time"], resolved),
            ("components_full", dig["fully"], dig["received"]),
            ("results", dig["results"], dig["resolved"]),
            ("online_payment", fees["paid_national_portal"], fees["dossiers"]),
        ):
            if den:
                rates[(unit_id, rate)] = num / den
    return rates


def by_unit(result: list[dict[str, Any]]) -> dict[str, float]:
    return {r["metric"]["report_unit"]: float(r["value"][1]) for r in result}


def test_wall_tables_list_every_report_row_with_the_snapshot_rates(
    stack: Stack, registry: Registry
) -> None:
    expected = snapshot_rates(stack.snapshot, registry)
    listed: list[str] = []
    checked = 0
    for table in wall_tables():
        groups = groups_of(table)
        rows = {
            u
            for u in registry.top_level(APRIL_2022_DAYS)
            if re.fullmatch(groups, registry.units[u].report_group)
        }
        first, *columns = table["targets"]
        result = stack.query(concrete(first["expr"]))
        names = {r["metric"]["report_unit"]: r["metric"]["name"] for r in result}
        assert names == {u: registry.units[u].name for u in rows}, table["title"]
        listed += names
        for target in columns:
            result = stack.query(concrete(target["expr"]))
            assert {r["metric"]["name"] for r in result} <= set(names.values())
            assert set(by_unit(result)) <= rows, f"{table['title']}: a row of another table"
            rate = dict((label, value) for label, _, value in matchers(target["expr"])).get("rate")
            if rate:
                want = {u: v for (u, r), v in expected.items() if r == rate and u in rows}
                assert by_unit(result) == pytest.approx(want), (table["title"], rate)
                checked += 1
            elif "tthc_open_dossiers" in target["expr"]:
                # Counts: every row has a value, 0 when nothing is in that state.
                assert set(by_unit(result)) == rows, target["expr"]
    assert sorted(listed) == sorted(registry.top_level(APRIL_2022_DAYS))
    assert checked == 8
    # Worked by hand in scenario.py: Sở Tư pháp, 10 of 13 resolved early or on time.
    assert expected[(scenario.S, "on_time")] == pytest.approx(10 / 13)


def test_wall_headline_and_scorecard_equal_the_snapshot(stack: Stack, registry: Registry) -> None:
    rows = {u["unit_id"]: u for u in stack.snapshot["units"]}
    top = [rows[u] for u in registry.top_level(APRIL_2022_DAYS)]
    wall = {p["title"]: p for p in dashboards()["tthc-wall.json"]["panels"]}

    def single(title: str) -> float:
        (result,) = stack.query(concrete(wall[title]["targets"][0]["expr"]))
        return float(result["value"][1])

    on_time = sum(r["resolved_early"] + r["resolved_on_time"] for r in top)
    resolved = on_time + sum(r["resolved_late"] for r in top)
    assert single("Đúng hạn toàn tỉnh (kỳ)") == pytest.approx(on_time / resolved)
    online = sum(r["received_online"] for r in top)
    total = sum(
        r["received_online"] + r["received_direct"] + r["carried_over"] + r["received_interagency"]
        for r in top
    )
    assert single("Trực tuyến toàn tỉnh (kỳ)") == pytest.approx(online / total)
    # Land-sector lateness: the own figure of the unit that held the inter-agency stage.
    assert single("Liên thông trễ hạn (kỳ)") == rows[scenario.T]["late_as_interagency"] == 4
    # Freshness: the last applied event is recent (the worker applied it in this test).
    assert 0 <= single("Dữ liệu cập nhật cách đây") < 300

    indicators = load_indicators()
    points = {
        row["unit_id"]: sum(s.points for s in scores(row, indicators) if s.points is not None)
        for row in top
        if any(s.rate is not None for s in scores(row, indicators))
    }
    got: dict[str, float] = {}
    for table in wall_tables():
        (target,) = [t for t in table["targets"] if "tthc_index766_points" in t["expr"]]
        got |= by_unit(stack.query(concrete(target["expr"])))
    assert got == pytest.approx(points)


def test_unit_panels_name_their_sub_units(stack: Stack, registry: Registry) -> None:
    unit = {p["title"]: p for p in dashboards()["tthc-unit.json"]["panels"]}
    target = unit["Trễ hạn trong kỳ theo đơn vị và bước"]["targets"][0]
    parent = registry.units[scenario.T].parent_id
    assert parent is not None
    result = stack.query(concrete(target["expr"], parent))
    got = {r["metric"]["unit"]: (r["metric"]["name"], float(r["value"][1])) for r in result}
    assert got[scenario.T] == (registry.units[scenario.T].name, 4)


def test_operations_series_come_from_the_worker(stack: Stack) -> None:
    stats = stack.env.stats()
    (dead,) = stack.query('tthc_pipeline_events_total{outcome="dead_letter"}')
    assert float(dead["value"][1]) == stats["dead_letters"] == 3
    fired = {
        r["metric"]["level"]: float(r["value"][1])
        for r in stack.query("sum by (level) (tthc_alerts_fired_total)")
    }
    assert fired == {level: stats[f"alerts_fired:{level}"] for level in LEVELS}
    offsets = stack.query("sum(tthc_pipeline_applied_offset)")
    assert float(offsets[0]["value"][1]) == len(scenario.stream())
    # The worker's own endpoint: a lag for every partition it consumed, all caught up;
    # the same dead letters.
    lags = stack.query("max by (partition) (tthc_worker_consumer_lag_messages)")
    consumed = stack.query("tthc_pipeline_applied_offset > 0")
    assert lags and {r["metric"]["partition"] for r in lags} == {
        r["metric"]["partition"] for r in consumed
    }
    assert all(float(r["value"][1]) == 0 for r in lags)
    (worker_dead,) = stack.query('sum(tthc_worker_events_total{outcome="dead_letter"})')
    assert float(worker_dead["value"][1]) == 3
    (workers,) = stack.query(
        concrete(
            next(
                p["targets"][0]["expr"]
                for p in dashboards()["tthc-operations.json"]["panels"]
                if p["title"] == "Worker đang chạy"
            )
        )
    )
    assert float(workers["value"][1]) == 1
    (memory,) = stack.query("max(tthc_redis_memory_max_bytes)")
    assert float(memory["value"][1]) == MAXMEMORY
