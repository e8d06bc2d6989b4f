"""Grafana building blocks on the Grafana Foundation SDK: queries, thresholds, panel shapes.

Every panel of the three dashboards is made here, so the datasource, the colours, the
"no value" texts and the grid arithmetic are written once. The SDK's builders give typed
fields for what its schema knows; the few table column settings it has no method for
(cell colouring, hidden columns, widths) are written as field overrides, the way the
Grafana UI stores them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from grafana_foundation_sdk.builders import bargauge, prometheus, stat, table, timeseries
from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders.dashboard import (
    Dashboard,
    DashboardLink,
    FieldColor,
    ThresholdsConfig,
)
from grafana_foundation_sdk.cog.builder import Builder
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as model
from grafana_foundation_sdk.models.prometheus import PromQueryFormat, QueryEditorMode

DATASOURCE = model.DataSourceRef(type_val="prometheus", uid="tthc-prometheus")
TIMEZONE = "Asia/Ho_Chi_Minh"

Grid = tuple[int, int, int, int]  # x, y, w, h in Grafana's 24-column grid
Steps = Sequence[tuple[str, float | None]]

RATE_STEPS: Steps = (("red", None), ("orange", 0.5), ("yellow", 0.8), ("green", 0.95))
COUNT_STEPS: Steps = (("green", None), ("orange", 1), ("red", 10))
DUE_STEPS: Steps = (("green", None), ("orange", 1))
NEUTRAL: Steps = (("blue", None),)


def query(
    expr: str, legend: str = "", ref: str = "A", *, instant: bool = True, table: bool = False
) -> prometheus.Dataquery:
    """A PromQL target on the provisioned datasource."""
    target = (
        prometheus.Dataquery()
        .datasource(DATASOURCE)
        .ref_id(ref)
        .expr(expr)
        .editor_mode(QueryEditorMode.CODE)
    )
    target = target.instant() if instant else target.range()
    if legend:
        target = target.legend_format(legend)
    if table:
        target = target.format(PromQueryFormat.TABLE)
    return target


def thresholds(steps: Steps) -> ThresholdsConfig:
    return (
        ThresholdsConfig()
        .mode(model.ThresholdsMode.ABSOLUTE)
        .steps([model.Threshold(color=color, value=value) for color, value in steps])
    )


def by_thresholds() -> FieldColor:
    return FieldColor().mode(model.FieldColorModeId.THRESHOLDS)


def grid(position: Grid) -> model.GridPos:
    x, y, w, h = position
    return model.GridPos(x=x, y=y, w=w, h=h)


def last_value() -> common_builders.ReduceDataOptions:
    return common_builders.ReduceDataOptions().calcs(["lastNotNull"]).values(False).fields("")


def rename(names: dict[str, str]) -> list[tuple[str, list[model.DynamicConfigValue]]]:
    """Overrides showing a label value (rate, state, outcome, level) as its Vietnamese name."""
    return [(key, [model.DynamicConfigValue("displayName", value)]) for key, value in names.items()]


def link(title: str, url: str) -> DashboardLink:
    return DashboardLink(title).type(model.DashboardLinkType.LINK).url(url)


class Layout:
    """Numbers panels in order; one instance per dashboard."""

    def __init__(self) -> None:
        self.next_id = 1

    def _id(self) -> int:
        self.next_id += 1
        return self.next_id - 1

    def stat(
        self,
        title: str,
        position: Grid,
        expr: str,
        *,
        unit: str = "none",
        steps: Steps = NEUTRAL,
        decimals: int = 0,
        description: str = "",
        legend: str = "",
        no_value: str = "0",
        names: dict[str, str] | None = None,
    ) -> stat.Panel:
        panel = (
            stat.Panel()
            .id(self._id())
            .title(title)
            .description(description)
            .datasource(DATASOURCE)
            .grid_pos(grid(position))
            .with_target(query(expr, legend))
            .unit(unit)
            .decimals(decimals)
            .color_scheme(by_thresholds())
            .thresholds(thresholds(steps))
            .no_value(no_value)
            .reduce_options(last_value())
            .color_mode(common.BigValueColorMode.BACKGROUND)
            .graph_mode(common.BigValueGraphMode.NONE)
            .justify_mode(common.BigValueJustifyMode.CENTER)
            .text_mode(common.BigValueTextMode.AUTO)
            .orientation(common.VizOrientation.AUTO)
        )
        for key, properties in rename(names or {}):
            panel = panel.override_by_name(key, properties)
        return panel

    def bars(
        self,
        title: str,
        position: Grid,
        expr: str,
        legend: str,
        *,
        unit: str = "percentunit",
        steps: Steps = RATE_STEPS,
        decimals: int = 1,
        maximum: float | None = 1,
        description: str = "",
        names: dict[str, str] | None = None,
        links: list[DashboardLink] | None = None,
    ) -> bargauge.Panel:
        panel = (
            bargauge.Panel()
            .id(self._id())
            .title(title)
            .description(description)
            .datasource(DATASOURCE)
            .grid_pos(grid(position))
            .with_target(query(expr, legend))
            .unit(unit)
            .decimals(decimals)
            .min(0)
            .color_scheme(by_thresholds())
            .thresholds(thresholds(steps))
            .no_value("Không có")
            .reduce_options(last_value())
            .orientation(common.VizOrientation.HORIZONTAL)
            .display_mode(common.BarGaugeDisplayMode.GRADIENT)
            .value_mode(common.BarGaugeValueMode.COLOR)
            .show_unfilled(True)
            .min_viz_height(16)
        )
        if maximum is not None:
            panel = panel.max(maximum)
        if links:
            panel = panel.data_links(list(links))
        for key, properties in rename(names or {}):
            panel = panel.override_by_name(key, properties)
        return panel

    def timeseries(
        self,
        title: str,
        position: Grid,
        targets: list[prometheus.Dataquery],
        *,
        unit: str = "none",
        description: str = "",
        stacked: bool = False,
        names: dict[str, str] | None = None,
    ) -> timeseries.Panel:
        panel = (
            timeseries.Panel()
            .id(self._id())
            .title(title)
            .description(description)
            .datasource(DATASOURCE)
            .grid_pos(grid(position))
            .targets(list(targets))
            .unit(unit)
            .color_scheme(FieldColor().mode(model.FieldColorModeId.PALETTE_CLASSIC))
            .draw_style(common.GraphDrawStyle.LINE)
            .line_width(2)
            .fill_opacity(10)
            .show_points(common.VisibilityMode.NEVER)
            .stacking(
                common_builders.StackingConfig()
                .mode(common.StackingMode.NORMAL if stacked else common.StackingMode.NONE)
                .group("A")
            )
            .legend(
                common_builders.VizLegendOptions()
                .display_mode(common.LegendDisplayMode.LIST)
                .placement(common.LegendPlacement.BOTTOM)
                .show_legend(True)
            )
            .tooltip(
                common_builders.VizTooltipOptions()
                .mode(common.TooltipDisplayMode.MULTI)
                .sort(common.SortOrder.DESCENDING)
            )
        )
        for key, properties in rename(names or {}):
            panel = panel.override_by_name(key, properties)
        return panel

    def table(
        self,
        title: str,
        position: Grid,
        targets: list[prometheus.Dataquery],
        *,
        description: str = "",
        columns: list[tuple[str, list[model.DynamicConfigValue]]],
        hidden: Sequence[str] = (),
        transformations: list[model.DataTransformerConfig],
        sort_by: str | None = None,
    ) -> table.Panel:
        """A table of instant queries merged on their labels; `columns` are per-field
        overrides by field name, `hidden` fields stay in the data (for data links) but
        are not shown."""
        panel = (
            table.Panel()
            .id(self._id())
            .title(title)
            .description(description)
            .datasource(DATASOURCE)
            .grid_pos(grid(position))
            .targets(list(targets))
            .no_value("–")
            .show_header(True)
            .cell_height(common.TableCellHeight.SM)
            .transformations(transformations)
        )
        if sort_by:
            panel = panel.sort_by(
                [common_builders.TableSortByFieldState().display_name(sort_by).desc(True)]
            )
        for name, properties in columns:
            panel = panel.override_by_name(name, properties)
        for name in hidden:
            panel = panel.override_by_name(name, [model.DynamicConfigValue("custom.hidden", True)])
        return panel


def column(
    display: str,
    *,
    unit: str | None = None,
    decimals: int = 0,
    steps: Steps | None = None,
    width: int | None = None,
    links: list[dict[str, Any]] | None = None,
) -> list[model.DynamicConfigValue]:
    """Field override properties of one table column (name, unit, coloured text)."""
    properties = [model.DynamicConfigValue("displayName", display)]
    if unit is not None:
        properties += [
            model.DynamicConfigValue("unit", unit),
            model.DynamicConfigValue("decimals", decimals),
        ]
    if steps is not None:
        properties += [
            model.DynamicConfigValue(
                "thresholds",
                {
                    "mode": "absolute",
                    "steps": [{"color": color, "value": value} for color, value in steps],
                },
            ),
            model.DynamicConfigValue("color", {"mode": "thresholds"}),
            model.DynamicConfigValue("custom.cellOptions", {"type": "color-text"}),
        ]
    if width is not None:
        properties.append(model.DynamicConfigValue("custom.width", width))
    if links:
        properties.append(model.DynamicConfigValue("links", links))
    return properties


def transformation(kind: str, options: dict[str, Any]) -> model.DataTransformerConfig:
    return model.DataTransformerConfig(id_val=kind, options=options)


def dashboard(
    uid: str,
    title: str,
    panels: Sequence[Builder[model.Panel]],
    *,
    description: str,
    time_from: str,
    refresh: str,
    tags: list[str],
    variables: Sequence[Builder[model.VariableModel]] = (),
) -> Dashboard:
    """A read-only dashboard in Vietnam's time zone, linked to the other TTHC dashboards."""
    board = (
        Dashboard(title)
        .uid(uid)
        .description(description)
        .tags(tags)
        .timezone(TIMEZONE)
        .readonly()
        .tooltip(model.DashboardCursorSync.CROSSHAIR)
        .live_now(False)
        .refresh(refresh)
        .time(time_from, "now")
        .week_start("monday")
        .version(1)
        .link(
            DashboardLink("Bảng TTHC khác")
            .type(model.DashboardLinkType.DASHBOARDS)
            .tags(["tthc"])
            .as_dropdown(True)
            .include_vars(False)
            .keep_time(False)
        )
    )
    for variable in variables:
        board = board.with_variable(variable)
    for panel in panels:
        board = board.with_panel(panel)
    return board
