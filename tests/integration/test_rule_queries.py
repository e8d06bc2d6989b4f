"""Every alert rule's query, for real, on the stack of test_dashboards.py (worker -> Redis
-> serve -> Debian's Prometheus): each evaluates without error (a join that matches
many-to-many fails only on real series), the unit rules name every report row by its
registry name, and the Redis memory ratio has a value when maxmemory is set.

promtool's tests (dashboards/prometheus/tests) check when each rule fires; this checks
that the series the rules read are the ones the exporter and the workers expose.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.fixtures import APRIL_2022_DAYS
from tests.integration import test_dashboards as dashboards_stack
from tests.integration.test_dashboards import MAXMEMORY, Stack
from tthc_monitor.reference.registry import Registry

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

RULES = Path(__file__).resolve().parents[2] / "dashboards/prometheus/rules/tthc.rules.yml"
stack = dashboards_stack.stack  # the same module-scoped stack fixture


def rules() -> dict[str, dict[str, Any]]:
    document = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    return {r["alert"]: r for group in document["groups"] for r in group["rules"]}


def test_every_rule_query_evaluates(stack: Stack) -> None:
    for rule in rules().values():
        stack.query(rule["expr"])  # asserts that Prometheus answers with a vector


@pytest.mark.parametrize(
    ("alert", "threshold"),
    [("TthcManyDueToday", "> 10"), ("TthcOverdueRising", "> 0")],
)
def test_unit_rules_name_every_report_row(
    stack: Stack, registry: Registry, alert: str, threshold: str
) -> None:
    expr = rules()[alert]["expr"]
    assert threshold in expr
    if alert == "TthcOverdueRising":
        # Keep the join, drop the conditions: the joined vector of every report row.
        join = expr[expr.index("* on (report_unit)") :]
        probe = f"sum by (report_unit) (tthc_open_dossiers) {join}"
    else:
        probe = expr.replace(threshold, ">= 0")
    result = stack.query(probe)
    names = {r["metric"]["report_unit"]: r["metric"]["name"] for r in result}
    assert names == {u: registry.unit(u).name for u in registry.top_level(APRIL_2022_DAYS)}


def test_redis_memory_ratio_has_a_value(stack: Stack) -> None:
    expr = rules()["TthcRedisMemoryHigh"]["expr"]
    ratio = expr.strip().removesuffix("> 0.9").strip()
    (sample,) = stack.query(ratio)
    value = float(sample["value"][1])
    assert 0 < value < 0.9, value  # the test's Redis is far from its limit
    (limit,) = stack.query("tthc_redis_memory_max_bytes")
    assert float(limit["value"][1]) == MAXMEMORY
