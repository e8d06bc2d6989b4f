"""PromQL fragments shared by the dashboards: groups of period figures, joins on unit names.

Unit names come from the data, never from this repository: the exporter publishes one
`tthc_unit_info{unit, name, parent, level, kind, report_group} 1` series per registry
unit, and every panel that shows a unit joins its name in with `group_left(name)`.
Another province's registry therefore shows its own names on the same JSON.
"""

from __future__ import annotations

RESOLVED = "resolved_early|resolved_on_time|resolved_late"
ON_TIME = "resolved_early|resolved_on_time"
TOTAL_IN = "received_online|received_direct|carried_over|received_interagency"

# Time of the last event a worker applied (Unix seconds), written by the workers.
LAST_APPLIED = "tthc_pipeline_last_applied_timestamp_seconds"

# The report rows: units without a parent that belong to a report group.
REPORT_ROWS = 'parent="",report_group!="",in_force="true"'


def unit_names(selector: str = "") -> str:
    """`unit` -> `name`, one series per unit (max by drops the other info labels)."""
    return f"max by (unit, name) (tthc_unit_info{{{selector}}})"


def report_names(selector: str = REPORT_ROWS) -> str:
    """`report_unit` -> `name` for the report rows selected: the info series with their
    `unit` copied into `report_unit`, the label the per-row metrics carry."""
    return (
        "max by (report_unit, name) (label_replace(tthc_unit_info{" + selector + "}, "
        '"report_unit", "$1", "unit", "(.*)"))'
    )


def with_unit_name(expr: str) -> str:
    """Adds the `name` label to every series of `expr`, matched on `unit`."""
    return f"{expr} * on (unit) group_left (name) {unit_names()}"


def with_report_name(expr: str, selector: str = REPORT_ROWS) -> str:
    """Adds `name` to every series of `expr`, matched on `report_unit`; also keeps only
    the report rows the selector picks."""
    return f"{expr} * on (report_unit) group_left (name) {report_names(selector)}"
