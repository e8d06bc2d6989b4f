"""Every dashboard query, for real: worker -> Redis -> serve -> Debian's Prometheus.

The hand-written scenario (tests/integration/scenario.py, incl. its invalid lines) goes
through Kafka and a real worker whose clock stands at 14/4/2022 16:00, so the pipeline
series the operations dashboard shows exist too: applied offsets, dead letters, deadline
alerts fired. `tthc-monitor serve --period 2022-04` exposes it; a Prometheus started here
scrapes it every second. Then each PromQL expression of each panel of each dashboard is
evaluated through /api/v1/query and must return data, and the ranked per-unit panels of
the wall must equal the snapshot (`tthc-monitor snapshot --json`).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.integration import scenario
from tests.integration.conftest import ROOT, Env
from tests.integration.test_pipeline import produce, wait_applied
from tests.programs import require
from tests.unit.test_dashboards import dashboards, expressions, matchers
from tthc_monitor.core.index766 import load_indicators, scores
from tthc_monitor.embedded import free_port
from tthc_monitor.reference.registry import Registry

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

PERIOD = "2022-04"
CLOCK = "2022-04-14T16:00:00+07:00"
# Concrete values for Grafana's variables. $__range: the wall counts "today" from
# midnight; an hour covers every sample this test produces.
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__range": "1h", "$__interval": "15s"}
LEVELS = ("due_soon", "due_today", "overdue", "apology_missing")


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
    try:
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
            samples = stack.query('count_over_time(up{job="tthc-monitor"}[1m])')
            return bool(samples) and float(samples[0]["value"][1]) >= 3

        wait_for(scraped, "three scrapes", 30, prometheus)
        (up,) = stack.query('up{job="tthc-monitor"}')
        assert up["value"][1] == "1", "Prometheus scraped serve but the scrape failed"
        yield stack
    finally:
        for process in reversed(processes):
            stop(process)
        env.stop()


def concrete(expr: str, unit: str | None = None) -> str:
    for name, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(name, value)
    if unit is not None:
        expr = expr.replace("$report_unit", unit)
    assert "$" not in expr, f"unreplaced variable in {expr}"
    return expr


def report_units(stack: Stack) -> list[str]:
    """The values of the unit dashboard's variable: label_values(tthc_period_figure, ...)."""
    return sorted(
        r["metric"]["report_unit"]
        for r in stack.query("group by (report_unit) (tthc_period_figure)")
    )


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
                empty.append(where)
    assert count >= 30
    assert not empty, "queries without data:\n" + "\n".join(empty)


def snapshot_rates(snapshot: dict[str, Any], registry: Registry) -> dict[tuple[str, str], float]:
    """The appendices' rates per report row, computed from the snapshot's rolled-up rows."""
    rows = {u["unit_id"]: u for u in snapshot["units"]}
    rates = {}
    for unit_id in registry.top_level():
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


def test_wall_rankings_equal_the_snapshot(stack: Stack, registry: Registry) -> None:
    expected = snapshot_rates(stack.snapshot, registry)
    wall = dashboards()["tthc-wall.json"]
    checked = 0
    for panel, expr in expressions(wall):
        rate = dict((label, value) for label, _, value in matchers(expr)).get("rate")
        if not rate:
            continue
        result = stack.query(concrete(expr))
        got = [(r["metric"]["report_unit"], float(r["value"][1])) for r in result]
        want = {unit: value for (unit, r), value in expected.items() if r == rate}
        assert dict(got) == pytest.approx(want), panel["title"]
        values = [value for _, value in got]
        assert values == sorted(values, reverse=True), f"{panel['title']}: not ranked"
        checked += 1
    assert checked == 4
    # Worked by hand in scenario.py: Sở Tư pháp, 10 of 13 resolved early or on time.
    assert expected[(scenario.S, "on_time")] == pytest.approx(10 / 13)


def test_wall_headline_and_scorecard_equal_the_snapshot(stack: Stack, registry: Registry) -> None:
    rows = {u["unit_id"]: u for u in stack.snapshot["units"]}
    top = [rows[u] for u in registry.top_level()]
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

    indicators = load_indicators()
    points = {
        row["unit_id"]: sum(s.points for s in scores(row, indicators) if s.points is not None)
        for row in top
        if any(s.rate is not None for s in scores(row, indicators))
    }
    result = stack.query(concrete(wall["Chỉ số 766: tổng điểm"]["targets"][0]["expr"]))
    got = {r["metric"]["report_unit"]: float(r["value"][1]) for r in result}
    best = dict(sorted(points.items(), key=lambda kv: -kv[1])[:10])
    assert got == pytest.approx(best)

    # Land-sector lateness: own figures of the unit that held the inter-agency stage.
    result = stack.query(concrete(wall["Liên thông đất đai: trễ hạn"]["targets"][0]["expr"]))
    got = {r["metric"]["unit"]: float(r["value"][1]) for r in result}
    assert got == {scenario.T: rows[scenario.T]["late_as_interagency"]} == {scenario.T: 4}


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
