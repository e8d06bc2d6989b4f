"""PromQL fragments shared by the wall and the unit drill-down: groups of period figures."""

from __future__ import annotations

RESOLVED = "resolved_early|resolved_on_time|resolved_late"
ON_TIME = "resolved_early|resolved_on_time"
TOTAL_IN = "received_online|received_direct|carried_over|received_interagency"
# Units with open dossiers get a 0 when none of theirs is in the state (instead of no row).
OPEN_BY_UNIT = "0 * sum by (report_unit) (tthc_open_dossiers)"
