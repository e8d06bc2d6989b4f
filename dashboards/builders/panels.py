"""Grafana building blocks: query targets, overrides, thresholds, panel shapes, the dashboard."""

from __future__ import annotations

from typing import Any

DATASOURCE = {"type": "prometheus", "uid": "tthc-prometheus"}
TIMEZONE = "Asia/Ho_Chi_Minh"
SCHEMA_VERSION = 39

Panel = dict[str, Any]


def target(expr: str, legend: str = "", ref: str = "A", instant: bool = True) -> dict[str, Any]:
    result: dict[str, Any] = {
        "datasource": DATASOURCE,
        "refId": ref,
        "expr": expr,
        "instant": instant,
        "range": not instant,
        "editorMode": "code",
    }
    if legend:
        result["legendFormat"] = legend
    return result


def rename(names: dict[str, str]) -> list[dict[str, Any]]:
    """Field overrides that show a label value (unit id, rate, ...) as its Vietnamese name."""
    return [
        {
            "matcher": {"id": "byName", "options": key},
            "properties": [{"id": "displayName", "value": value}],
        }
        for key, value in names.items()
    ]


def thresholds(*steps: tuple[str, float | None]) -> dict[str, Any]:
    return {"mode": "absolute", "steps": [{"color": c, "value": v} for c, v in steps]}


RATE_STEPS = thresholds(("red", None), ("orange", 0.5), ("yellow", 0.8), ("green", 0.95))
COUNT_STEPS = thresholds(("green", None), ("orange", 1), ("red", 10))


class Layout:
    def __init__(self) -> None:
        self.next_id = 1

    def panel(
        self,
        kind: str,
        title: str,
        grid: tuple[int, int, int, int],
        targets: list[dict[str, Any]],
        *,
        description: str = "",
        defaults: dict[str, Any] | None = None,
        overrides: list[dict[str, Any]] | None = None,
        options: dict[str, Any] | None = None,
        transformations: list[dict[str, Any]] | None = None,
    ) -> Panel:
        x, y, w, h = grid
        panel: Panel = {
            "id": self.next_id,
            "type": kind,
            "title": title,
            "description": description,
            "datasource": DATASOURCE,
            "gridPos": {"x": x, "y": y, "w": w, "h": h},
            "targets": targets,
            "fieldConfig": {"defaults": defaults or {}, "overrides": overrides or []},
            "options": options or {},
        }
        if transformations:
            panel["transformations"] = transformations
        self.next_id += 1
        return panel

    def stat(
        self,
        title: str,
        grid: tuple[int, int, int, int],
        expr: str,
        *,
        unit: str = "none",
        steps: dict[str, Any] | None = None,
        decimals: int = 0,
        description: str = "",
        legend: str = "",
        overrides: list[dict[str, Any]] | None = None,
    ) -> Panel:
        return self.panel(
            "stat",
            title,
            grid,
            [target(expr, legend)],
            description=description,
            defaults={
                "unit": unit,
                "decimals": decimals,
                "color": {"mode": "thresholds"},
                "thresholds": steps or thresholds(("blue", None)),
                "noValue": "0",
            },
            overrides=overrides,
            options={
                "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                "colorMode": "background",
                "graphMode": "none",
                "justifyMode": "center",
                "textMode": "auto",
                "orientation": "auto",
                "wideLayout": True,
            },
        )

    def bars(
        self,
        title: str,
        grid: tuple[int, int, int, int],
        expr: str,
        legend: str,
        names: dict[str, str],
        *,
        unit: str = "percentunit",
        steps: dict[str, Any] = RATE_STEPS,
        decimals: int = 1,
        maximum: float | None = 1,
        description: str = "",
        text_size: int = 18,
    ) -> Panel:
        defaults: dict[str, Any] = {
            "unit": unit,
            "decimals": decimals,
            "min": 0,
            "color": {"mode": "thresholds"},
            "thresholds": steps,
            "noValue": "Không có",
        }
        if maximum is not None:
            defaults["max"] = maximum
        return self.panel(
            "bargauge",
            title,
            grid,
            [target(expr, legend)],
            description=description,
            defaults=defaults,
            overrides=rename(names),
            options={
                "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                "orientation": "horizontal",
                "displayMode": "gradient",
                "valueMode": "color",
                "namePlacement": "left",
                "showUnfilled": True,
                "sizing": "auto",
                "minVizHeight": 16,
                "maxVizHeight": 48,
                "text": {"titleSize": text_size, "valueSize": text_size},
            },
        )

    def timeseries(
        self,
        title: str,
        grid: tuple[int, int, int, int],
        targets: list[dict[str, Any]],
        *,
        unit: str = "none",
        names: dict[str, str] | None = None,
        description: str = "",
        stacked: bool = False,
    ) -> Panel:
        return self.panel(
            "timeseries",
            title,
            grid,
            targets,
            description=description,
            defaults={
                "unit": unit,
                "color": {"mode": "palette-classic"},
                "custom": {
                    "drawStyle": "line",
                    "lineWidth": 2,
                    "fillOpacity": 10,
                    "showPoints": "never",
                    "stacking": {"mode": "normal" if stacked else "none", "group": "A"},
                },
            },
            overrides=rename(names or {}),
            options={
                "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
                "tooltip": {"mode": "multi", "sort": "desc"},
            },
        )


def dashboard(
    uid: str,
    title: str,
    panels: list[Panel],
    *,
    description: str,
    time_from: str,
    refresh: str,
    variables: list[dict[str, Any]] | None = None,
    tags: list[str],
) -> dict[str, Any]:
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": tags,
        "timezone": TIMEZONE,
        "editable": False,
        "graphTooltip": 1,
        "liveNow": False,
        "refresh": refresh,
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "time": {"from": time_from, "to": "now"},
        "timepicker": {},
        "fiscalYearStartMonth": 0,
        "weekStart": "monday",
        "links": [],
        "annotations": {"list": []},
        "templating": {"list": variables or []},
        "panels": panels,
    }
