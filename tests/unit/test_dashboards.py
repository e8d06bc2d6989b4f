"""Static checks of dashboards/: Grafana JSON, provisioning, Prometheus config and rules.

The queries are run for real against Prometheus in tests/integration/test_dashboards.py.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.programs import require
from tthc_monitor.metrics.catalogue import BY_NAME, WORKER_CATALOGUE
from tthc_monitor.metrics.collector import FLOWS, PERIOD_FIGURES
from tthc_monitor.reference.index766_files import load_indicators
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
# The exporter's catalogue and each worker's own endpoint (job="tthc-worker").
KNOWN = {**BY_NAME, **{m.name: m for m in WORKER_CATALOGUE}}
# Worker series that are histograms: queried through their _bucket series.
HISTOGRAMS = {m.name for m in WORKER_CATALOGUE if m.name.endswith("_seconds")}
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
    "job": {"tthc-monitor", "tthc-worker"},
    "since": {"occurred", "arrival"},
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


def base_name(name: str) -> str:
    """The catalogue name of a series: histograms are queried through `<name>_bucket`."""
    stem = name.removesuffix("_bucket")
    return stem if stem in HISTOGRAMS else name


def labels_of(name: str) -> tuple[str, ...]:
    if name in PROMETHEUS_OWN:
        return PROMETHEUS_OWN[name]
    if base_name(name) != name:
        return (*KNOWN[base_name(name)].labels, "le")
    return KNOWN[name].labels


def kind_of(name: str) -> str:
    """counter, gauge or histogram (whose _bucket series are counters)."""
    if base_name(name) != name:
        return "counter"
    return KNOWN[name].kind


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
    for variable in dashboard["templating"].get("list", []):
        assert variable["datasource"]["uid"] == UID


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_expressions_use_only_catalogue_metrics_and_labels(name: str) -> None:
    for panel, expr in expressions(dashboards()[name]):
        where = f"{name} / {panel['title']}: {expr}"
        names = metric_names(expr)
        assert names, f"no metric in {where}"
        unknown = {n for n in names if base_name(n) not in KNOWN} - set(PROMETHEUS_OWN)
        assert not unknown, f"not in the catalogue: {sorted(unknown)} in {where}"
        allowed = {label for n in names for label in labels_of(n)}
        # label_replace(v, "dst", "replacement", "src", "regex") adds dst.
        allowed |= set(re.findall(r'"(\w+)",\s*"[^"]*",\s*"\w+",\s*"[^"]*"\)', expr))
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
    assert metric_names("round(sum(increase(tthc_alerts_fired_total[$__range]))) or vector(0)") == {
        "tthc_alerts_fired_total"
    }
    assert metric_names('min(up{job="tthc-monitor"})') == {"up"}
    assert metric_names("count by (report_unit) (tthc_index766_gap_ratio > 0)") == {
        "tthc_index766_gap_ratio"
    }
    assert metric_names(
        "sum by (unit) (tthc_open_stages) * on (unit) group_left (name) "
        'max by (unit, name) (label_replace(tthc_unit_info{parent=""}, "a", "$1", "b", "(.*)"))'
    ) == {"tthc_open_stages", "tthc_unit_info"}


# PromQL functions by what they may be applied to. A gauge can go down when a late event
# revises a figure, and rate()/increase() read any decrease as a counter reset.
COUNTER_ONLY = ("rate", "irate", "increase", "resets")
GAUGE_ONLY = ("delta", "deriv", "idelta", "predict_linear")


def range_function_arguments(expr: str) -> Iterator[tuple[str, str]]:
    """(function, metric) for every range-vector function applied to a selector."""
    functions = "|".join(COUNTER_ONLY + GAUGE_ONLY)
    pattern = rf"\b({functions})\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)"
    yield from re.findall(pattern, strip_strings(expr))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_counter_functions_only_on_counters(name: str) -> None:
    applied = 0
    for panel, expr in expressions(dashboards()[name]):
        for function, metric in range_function_arguments(expr):
            applied += 1
            kind = kind_of(metric)
            where = f"{name} / {panel['title']}: {function}({metric})"
            if function in COUNTER_ONLY:
                assert kind == "counter", f"{where} on a {kind}"
            else:
                assert kind == "gauge", f"{where} on a {kind}"
    if name != "tthc-wall.json":
        assert applied, "the unit and operations dashboards show trends"


def test_the_function_checker_sees_a_gauge_under_rate() -> None:
    (found,) = range_function_arguments("sum(rate(tthc_received_dossiers[5m]))")
    assert found == ("rate", "tthc_received_dossiers")
    assert kind_of(found[1]) == "gauge"
    assert kind_of("tthc_worker_event_lag_seconds_bucket") == "counter"


# Grafana rows are 30 px + 8 px margin: 28 rows fill 1080 px in kiosk mode. A table spends
# one panel header (32 px) and one column header (36 px); a line at cell height "sm" is
# 35 px (33 px + borders).
ROW_PX, MARGIN_PX, PANEL_HEADER_PX, TABLE_HEADER_PX, LINE_PX = 30, 8, 32, 36, 35


def table_lines(height: int) -> int:
    pixels = height * ROW_PX + (height - 1) * MARGIN_PX
    return (pixels - PANEL_HEADER_PX - TABLE_HEADER_PX) // LINE_PX


def test_wall_fits_1920x1080() -> None:
    wall = dashboards()["tthc-wall.json"]
    bottom = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in panels(wall))
    assert bottom <= 28
    assert wall["time"]["from"] == "now/d", "today's figures count from midnight"
    assert wall["timezone"] == "Asia/Ho_Chi_Minh"
    assert wall["refresh"]


def wall_tables() -> list[dict[str, Any]]:
    return [p for p in panels(dashboards()["tthc-wall.json"]) if p["type"] == "table"]


def groups_of(table: dict[str, Any]) -> str:
    """The report groups a wall table lists: the regex of its first (row list) query."""
    first = table["targets"][0]["expr"]
    (groups,) = [v for label, op, v in matchers(first) if label == "report_group" and op == "=~"]
    return groups


def test_wall_shows_every_report_row_without_scrolling() -> None:
    """Every report row of a 2022 period fits without scrolling; the 78 commune-level
    units of 2025 all have a line too (their table scrolls: docs/dashboards.md)."""
    registry = load_registry()
    tables = wall_tables()
    assert len(tables) == 2
    for during, fits in (
        ((date(2022, 3, 15), date(2022, 4, 15)), True),
        ((date(2025, 7, 15), date(2025, 8, 15)), False),
    ):
        top = registry.top_level(during)
        shown = []
        for table in tables:
            groups = groups_of(table)
            rows = [u for u in top if re.fullmatch(groups, registry.units[u].report_group)]
            capacity = table_lines(table["gridPos"]["h"])
            if fits:
                assert len(rows) <= capacity, f"{table['title']}: {len(rows)} rows, {capacity}"
            shown += rows
        assert sorted(shown) == sorted(top), "each report row in exactly one table"
        assert len(shown) >= 32


def test_wall_tables_are_sorted_and_say_so() -> None:
    for table in wall_tables():
        (sort,) = table["options"]["sortBy"]
        assert sort["desc"] is True
        shown = {
            prop["value"]
            for override in table["fieldConfig"]["overrides"]
            for prop in override["properties"]
            if prop["id"] == "displayName"
        }
        assert sort["displayName"] in shown, "sorted by a column that exists"
        assert "xếp theo tỷ lệ đúng hạn, cao → thấp" in table["title"]
        rates = {
            value
            for target in table["targets"]
            for label, _, value in matchers(target["expr"])
            if label == "rate"
        }
        assert rates == {"on_time", "online", "components_full", "online_payment"}


def test_wall_rows_link_to_the_unit_drill_down() -> None:
    for table in wall_tables():
        overrides = {
            o["matcher"]["options"]: o["properties"] for o in table["fieldConfig"]["overrides"]
        }
        (links,) = [p["value"] for p in overrides["name"] if p["id"] == "links"]
        (link,) = links
        assert link["url"] == "/d/tthc-unit?var-report_unit=${__data.fields.report_unit}"
        # The id column stays in the data (the link reads it) but is hidden.
        assert {"id": "custom.hidden", "value": True} in overrides["report_unit"]
        organize = [t for t in table["transformations"] if t["id"] == "organize"]
        assert "report_unit" not in organize[0]["options"]["excludeByName"]


def test_no_unit_name_or_id_is_baked_in() -> None:
    """Names come from tthc_unit_info at query time: another province's registry shows
    its own units on the same JSON."""
    registry = load_registry()
    for name, dashboard in dashboards().items():
        text = json.dumps(dashboard, ensure_ascii=False)
        for unit_id, unit in registry.units.items():
            assert f'"{unit_id}"' not in text and f"={unit_id}" not in text, (name, unit_id)
            assert unit.name not in text, (name, unit.name)
        for panel in panels(dashboard):
            for target in panel["targets"]:
                legend = target.get("legendFormat", "")
                assert "{{unit}}" not in legend and "{{report_unit}}" not in legend, (
                    f"{name} / {panel['title']}: legend shows an id, join the name instead"
                )


def test_per_unit_series_carry_the_name() -> None:
    """Every query that keeps a unit label (by unit / by report_unit) joins the name."""
    for name, dashboard in dashboards().items():
        for panel, expr in expressions(dashboard):
            if re.search(r"\bby \((?:report_unit|unit)\)", expr) and panel["type"] != "stat":
                assert "group_left (name)" in expr, f"{name} / {panel['title']}: {expr}"


def test_unit_dashboard_variable() -> None:
    unit = dashboards()["tthc-unit.json"]
    (variable,) = unit["templating"]["list"]
    assert variable["name"] == "report_unit" and variable["type"] == "query"
    rows = 'parent="",report_group!="",in_force="true"'
    assert variable["query"] == f"query_result(tthc_unit_info{{{rows}}})"
    uses = [expr for _, expr in expressions(unit)]
    assert all("$report_unit" in expr for expr in uses)


def variable_options(variable: dict[str, Any], lines: list[str]) -> list[tuple[str, str]]:
    """(value, text) pairs Grafana derives from query_result() lines with the regex
    (JavaScript's (?<name>) groups are Python's (?P<name>))."""
    pattern = variable["regex"].strip("/").replace("(?<", "(?P<")
    options = []
    for line in lines:
        match = re.search(pattern, line)
        if match:
            options.append((match.group("value"), match.group("text")))
    return options


def query_result_line(labels: dict[str, str]) -> str:
    """One line as Grafana's query_result() prints it: labels in Prometheus' (sorted)
    order, comma-separated, then the value and the time in ms."""
    body = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()) if value)
    return f"tthc_unit_info{{{body}}} 1 1700000000000"


def test_unit_variable_regex_gives_ids_as_values_and_names_as_text() -> None:
    registry = load_registry()
    (variable,) = dashboards()["tthc-unit.json"]["templating"]["list"]
    lines = [
        query_result_line(
            {
                "unit": u.unit_id,
                "name": u.name,
                "parent": u.parent_id or "",
                "level": u.level,
                "kind": u.kind,
                "report_group": u.report_group,
            }
        )
        for u in registry.units.values()
        if u.unit_id in registry.top_level()
    ]
    options = variable_options(variable, lines)
    assert options == [
        (u, registry.units[u].name) for u in registry.units if u in registry.top_level()
    ]


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


# What Grafana substitutes before a query reaches Prometheus.
GRAFANA_VARIABLES = {
    "$__rate_interval": "1m",
    "$__range": "1h",
    "$__interval": "15s",
    "$report_unit": "so-tu-phap",
}


def test_every_query_parses_with_promtool(tmp_path: Path) -> None:
    """Every panel query and the variable's query, as recording rules: promtool parses
    each expression with Prometheus' own parser (the integration test also runs them)."""
    exprs = [expr for dashboard in dashboards().values() for _, expr in expressions(dashboard)]
    for dashboard in dashboards().values():
        for variable in dashboard["templating"].get("list", []):
            exprs.append(variable["query"].removeprefix("query_result(").removesuffix(")"))
    rules = []
    for i, expr in enumerate(exprs):
        for name, value in GRAFANA_VARIABLES.items():
            expr = expr.replace(name, value)
        rules.append({"record": f"dashboard:query_{i}", "expr": expr})
    path = tmp_path / "queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    result = promtool("check", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(rules)} rules found" in result.stdout, result.stdout
    assert len(rules) >= 40


def test_promtool_rejects_a_broken_query(tmp_path: Path) -> None:
    path = tmp_path / "broken.yml"
    rule = {"record": "dashboard:broken", "expr": "sum by (unit (tthc_open_dossiers)"}
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": [rule]}]}))
    assert promtool("check", "rules", str(path)).returncode != 0


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
