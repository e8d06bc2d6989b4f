"""Static checks of dashboards/: Grafana JSON, provisioning, Prometheus config and rules.

The queries are run for real against Prometheus in tests/integration/test_dashboards.py.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.programs import require
from tthc_monitor.core.index766 import load_indicators
from tthc_monitor.metrics.catalogue import BY_NAME, WORKER_CATALOGUE
from tthc_monitor.metrics.collector import FLOWS, PERIOD_FIGURES
from tthc_monitor.reference.registry import load_registry

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS = ROOT / "dashboards"
GRAFANA = DASHBOARDS / "grafana"
JSON_DIR = GRAFANA / "dashboards"
PROMETHEUS = DASHBOARDS / "prometheus"
UID = "tthc-prometheus"
EXPECTED = {"tthc-wall.json", "tthc-unit.json", "tthc-operations.json"}
# Series Prometheus itself records for every scrape target.
PROMETHEUS_OWN = {"up": ("job", "instance"), "scrape_duration_seconds": ("job", "instance")}
VIETNAMESE = re.compile(
    r"[àáảãạăằắẳẵặâầấẩẫậđèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵ]", re.I
)

# Known values of the bounded labels (from the collector and the configuration).
LABEL_VALUES: dict[str, set[str]] = {
    "figure": set(PERIOD_FIGURES),
    "state": {"overdue", "due_today", "due_soon", "within"},
    "rate": {"online", "on_time", "components_full", "results", "online_payment"},
    "outcome": {"applied", "duplicate", "refused", "dead_letter"},
    "level": {"due_soon", "due_today", "overdue", "apology_missing"},
    "indicator": {i.id for i in load_indicators()},
    "job": {"tthc-monitor"},
}
for _name, _label, _value in FLOWS.values():
    if _label and _value:
        LABEL_VALUES.setdefault(_label, set()).add(_value)

# PromQL words that look like identifiers but are not metric names.
KEYWORDS = {
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "and",
    "or",
    "unless",
    "offset",
    "bool",
    "inf",
    "nan",
}


def dashboards() -> dict[str, dict[str, Any]]:
    return {
        p.name: json.loads(p.read_text(encoding="utf-8")) for p in sorted(JSON_DIR.glob("*.json"))
    }


def panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in dashboard["panels"]:
        yield panel
        yield from panel.get("panels", [])  # collapsed rows


def expressions(dashboard: dict[str, Any]) -> Iterator[tuple[dict[str, Any], str]]:
    """(panel, PromQL) for every query of every panel."""
    for panel in panels(dashboard):
        for target in panel.get("targets", []):
            yield panel, target["expr"]


def strip_strings(expr: str) -> str:
    return re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)


def metric_names(expr: str) -> set[str]:
    """Metric names in an expression: identifiers that are not functions, keywords, labels
    in by/on(...) lists or in {...} matchers, durations or template variables."""
    text = strip_strings(expr)
    text = re.sub(r"\{[^}]*\}", "{}", text)  # matchers
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    text = re.sub(r"\[[^\]]*\]", "", text)  # ranges
    text = re.sub(r"\$\w+", "", text)  # template variables
    names = set()
    for match in re.finditer(r"(?<![\w.$])([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\()?", text):
        word, call = match.group(1), match.group(2)
        if call or word.lower() in KEYWORDS:
            continue
        names.add(word)
    return names


def matchers(expr: str) -> list[tuple[str, str, str]]:
    """(label, operator, value) of every label matcher."""
    found = []
    for block in re.findall(r"\{([^}]*)\}", expr):
        for label, op, value in re.findall(r'(\w+)\s*(=~|!~|!=|=)\s*"([^"]*)"', block):
            found.append((label, op, value))
    return found


def grouping_labels(expr: str) -> set[str]:
    labels = set()
    for group in re.findall(r"\b(?:by|without|on|ignoring)\s*\(([^)]*)\)", expr):
        labels |= {label.strip() for label in group.split(",") if label.strip()}
    return labels


def labels_of(name: str) -> tuple[str, ...]:
    if name in PROMETHEUS_OWN:
        return PROMETHEUS_OWN[name]
    return BY_NAME[name].labels


def is_vietnamese(text: str) -> bool:
    return bool(text.strip()) and VIETNAMESE.search(text) is not None


# ----------------------------------------------------------------------------- dashboards --


def test_the_three_dashboards_are_committed() -> None:
    assert {p.name for p in JSON_DIR.glob("*.json")} == EXPECTED


def test_committed_json_equals_the_generator_output() -> None:
    spec = importlib.util.spec_from_file_location("dashboards_generate", DASHBOARDS / "generate.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--check"]) == 0, "run: python dashboards/generate.py"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_dashboard_structure(name: str) -> None:
    dashboard = dashboards()[name]
    assert dashboard["uid"] == name.removesuffix(".json")
    assert is_vietnamese(dashboard["title"]), dashboard["title"]
    ids = [p["id"] for p in panels(dashboard)]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    cells: set[tuple[int, int]] = set()
    for panel in panels(dashboard):
        assert is_vietnamese(panel["title"]), f"{name}: title {panel['title']!r} is not Vietnamese"
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 24, panel["title"]
        mine = {
            (x, y)
            for x in range(grid["x"], grid["x"] + grid["w"])
            for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not mine & cells, f"{name}: {panel['title']} overlaps another panel"
        cells |= mine
        assert panel["targets"], f"{panel['title']}: no query"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_datasource_is_the_provisioned_uid(name: str) -> None:
    dashboard = dashboards()[name]
    text = json.dumps(dashboard)
    for ref in re.findall(r'"datasource": (\{[^}]*\}|"[^"]*"|null)', text):
        assert json.loads(ref) == {"type": "prometheus", "uid": UID}, ref
    for panel in panels(dashboard):
        assert panel["datasource"]["uid"] == UID
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == UID
    for variable in dashboard["templating"]["list"]:
        assert variable["datasource"]["uid"] == UID


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_expressions_use_only_catalogue_metrics_and_labels(name: str) -> None:
    for panel, expr in expressions(dashboards()[name]):
        where = f"{name} / {panel['title']}: {expr}"
        names = metric_names(expr)
        assert names, f"no metric in {where}"
        unknown = names - set(BY_NAME) - set(PROMETHEUS_OWN)
        assert not unknown, f"not in the catalogue: {sorted(unknown)} in {where}"
        allowed = {label for n in names for label in labels_of(n)}
        for label, op, value in matchers(expr):
            assert label in allowed, f"label {label} in {where}"
            domain = LABEL_VALUES.get(label)
            if domain is None or value.startswith("$"):
                continue
            if op == "=":
                assert value in domain, f"{label}={value!r} in {where}"
            elif op == "=~":
                for alternative in value.split("|"):
                    assert any(re.fullmatch(alternative, v) for v in domain), (
                        f"{label}=~{alternative!r} matches nothing in {where}"
                    )
        assert grouping_labels(expr) <= allowed, f"grouping labels in {where}"


def test_metric_name_parser() -> None:
    assert metric_names(
        'sort_desc(topk(8, sum by (report_unit) (tthc_open_dossiers{state="due_today"})'
        " or 0 * sum by (report_unit) (tthc_open_dossiers)))"
    ) == {"tthc_open_dossiers"}
    assert metric_names("round(sum(increase(tthc_received_total[$__range]))) or vector(0)") == {
        "tthc_received_total"
    }
    assert metric_names('min(up{job="tthc-monitor"})') == {"up"}
    assert metric_names("count by (report_unit) (tthc_index766_gap_ratio > 0)") == {
        "tthc_index766_gap_ratio"
    }


def test_wall_fits_1920x1080() -> None:
    wall = dashboards()["tthc-wall.json"]
    bottom = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in panels(wall))
    # Grafana rows are 30 px + 8 px margin: 28 rows fill 1080 px in kiosk mode.
    assert bottom <= 28
    assert wall["time"]["from"] == "now/d", "today's figures count from midnight"
    assert wall["timezone"] == "Asia/Ho_Chi_Minh"
    assert wall["refresh"]


def test_ranked_panels_are_sorted() -> None:
    wall = dashboards()["tthc-wall.json"]
    rates = {
        value
        for panel in panels(wall)
        for target in panel["targets"]
        for label, _, value in matchers(target["expr"])
        if label == "rate" and target["expr"].startswith("sort_desc(")
    }
    assert rates == {"on_time", "online", "components_full", "online_payment"}


def test_unit_names_are_the_registry_names() -> None:
    registry = load_registry()
    names = {unit_id: registry.units[unit_id].name for unit_id in registry.units}
    overrides = 0
    for name, dashboard in dashboards().items():
        for panel in panels(dashboard):
            for override in panel["fieldConfig"]["overrides"]:
                key = override["matcher"]["options"]
                if key in names:
                    (prop,) = override["properties"]
                    assert prop == {"id": "displayName", "value": names[key]}, (name, key)
                    overrides += 1
    assert overrides >= 33


def test_unit_dashboard_variable() -> None:
    unit = dashboards()["tthc-unit.json"]
    (variable,) = unit["templating"]["list"]
    assert variable["name"] == "report_unit"
    assert variable["query"]["query"] == "label_values(tthc_period_figure, report_unit)"
    uses = [expr for _, expr in expressions(unit)]
    assert all("$report_unit" in expr for expr in uses)


# --------------------------------------------------------------------------- provisioning --


def test_provisioning_files() -> None:
    source = yaml.safe_load((GRAFANA / "provisioning/datasources/prometheus.yml").read_text())
    (datasource,) = source["datasources"]
    assert datasource["uid"] == UID and datasource["type"] == "prometheus"
    provider = yaml.safe_load((GRAFANA / "provisioning/dashboards/provider.yml").read_text())
    (entry,) = provider["providers"]
    assert entry["type"] == "file"
    assert entry["options"]["path"] == "/var/lib/grafana/dashboards"


def test_alertmanager_routes_by_severity() -> None:
    config = yaml.safe_load((DASHBOARDS / "alertmanager/alertmanager.yml").read_text())
    receivers = {r["name"] for r in config["receivers"]}
    assert config["route"]["receiver"] in receivers
    severities = set()
    for route in config["route"]["routes"]:
        assert route["receiver"] in receivers
        (matcher,) = route["matchers"]
        severities.add(re.fullmatch(r'severity="(\w+)"', matcher).group(1))  # type: ignore[union-attr]
    rules = yaml.safe_load((PROMETHEUS / "rules/tthc.rules.yml").read_text())
    used = {r["labels"]["severity"] for g in rules["groups"] for r in g["rules"]}
    assert used == severities


def test_rules_use_catalogue_metrics_and_vietnamese_summaries() -> None:
    rules = yaml.safe_load((PROMETHEUS / "rules/tthc.rules.yml").read_text())
    alerts = [r for g in rules["groups"] for r in g["rules"]]
    assert {r["alert"] for r in alerts} >= {
        "TthcOverdueRising",
        "TthcManyDueToday",
        "TthcApologyMissing",
        "TthcDeadLetters",
        "TthcExporterDown",
    }
    for rule in alerts:
        names = metric_names(rule["expr"]) - {"absent"}
        known = set(BY_NAME) | {m.name for m in WORKER_CATALOGUE} | set(PROMETHEUS_OWN)
        assert names and names <= known, rule["alert"]
        assert is_vietnamese(rule["annotations"]["summary"]), rule["alert"]
        assert is_vietnamese(rule["annotations"]["description"]), rule["alert"]


# ------------------------------------------------------------------------------- promtool --


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    binary = require("promtool", "prometheus")
    return subprocess.run(
        [binary, *args], capture_output=True, text=True, timeout=120, cwd=ROOT, check=False
    )


def test_promtool_check_config() -> None:
    result = promtool("check", "config", str(PROMETHEUS / "prometheus.yml"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 rule files found" in result.stdout + result.stderr


def test_promtool_check_rules() -> None:
    files = sorted(str(p) for p in (PROMETHEUS / "rules").glob("*.yml"))
    result = promtool("check", "rules", *files)
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_test_rules() -> None:
    files = sorted(str(p) for p in (PROMETHEUS / "tests").glob("*.yml"))
    assert files
    result = promtool("test", "rules", *files)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_rule_has_a_runbook_section_and_tests_that_fire_and_stay_silent() -> None:
    rules = yaml.safe_load((PROMETHEUS / "rules/tthc.rules.yml").read_text())
    alerts = {r["alert"]: r for g in rules["groups"] for r in g["rules"]}
    operations = (ROOT / "docs/operations.md").read_text(encoding="utf-8")
    headings = {
        re.sub(r"[^a-z0-9 -]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
        for line in operations.splitlines()
        if line.startswith("#")
    }
    tests = [
        case
        for path in (PROMETHEUS / "tests").glob("*.yml")
        for group in yaml.safe_load(path.read_text())["tests"]
        for case in group.get("alert_rule_test", [])
    ]
    for name, rule in alerts.items():
        page, _, anchor = rule["annotations"]["runbook_url"].partition("#")
        assert page == "docs/operations.md" and anchor in headings, name
        cases = [case for case in tests if case["alertname"] == name]
        assert any(case["exp_alerts"] for case in cases), f"{name}: no test where it fires"
        assert any(not case["exp_alerts"] for case in cases), f"{name}: no silent test"
