"""The wall's figures, per report row, from one live read (pure)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tthc_monitor.core.index766 import Indicator, scores
from tthc_monitor.core.periods import PeriodScheme
from tthc_monitor.core.snapshot import build_snapshot
from tthc_monitor.metrics.live import STATES, LiveState
from tthc_monitor.reference.registry import Registry


def _ratio(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def summary(
    state: LiveState,
    registry: Registry,
    periods: PeriodScheme,
    indicators: tuple[Indicator, ...],
    period: str,
    now: datetime,
) -> dict[str, Any]:
    snapshot = build_snapshot(period, periods, registry, state.counters, now, 1, state.totals)
    rows = {u["unit_id"]: u for u in snapshot["units"]}
    units: list[dict[str, Any]] = []
    for unit_id in registry.top_level():
        members = registry.subtree(unit_id)
        e = rows[unit_id]
        open_now = {
            s: sum(state.open.get(m, {}).get(("owner", s), 0) for m in members) for s in STATES
        }
        today = {
            key: sum(state.today.get(m, {}).get(f"day_{key}", 0) for m in members)
            for key in ("received", "resolved")
        }
        resolved = e["resolved_early"] + e["resolved_on_time"] + e["resolved_late"]
        received = e["received_online"] + e["received_direct"]
        total = received + e["carried_over"] + e["received_interagency"]
        index = {
            s.indicator.id: {"rate": s.rate, "points": s.points, "gap": s.gap}
            for s in scores(e, indicators)
        }
        units.append(
            {
                "unit_id": unit_id,
                "name": registry.unit(unit_id).name,
                "group": registry.unit(unit_id).report_group,
                "today": today,
                "open": open_now,
                "period": {
                    "received": total,
                    "resolved": resolved,
                    "late": e["resolved_late"],
                    "on_time_rate": _ratio(e["resolved_early"] + e["resolved_on_time"], resolved),
                    "online_rate": _ratio(e["received_online"], total),
                    "components_full_rate": _ratio(
                        e["digitization"]["fully"], e["digitization"]["received"]
                    ),
                    "results_rate": _ratio(
                        e["digitization"]["results"], e["digitization"]["resolved"]
                    ),
                    "online_payment_rate": _ratio(
                        e["fees"]["paid_national_portal"], e["fees"]["dossiers"]
                    ),
                },
                "index766": index,
                "index766_points": round(sum(v["points"] or 0 for v in index.values()), 2),
            }
        )
    totals = {
        "today": {k: sum(u["today"][k] for u in units) for k in ("received", "resolved")},
        "open": {s: sum(u["open"][s] for u in units) for s in STATES},
        "period": {k: sum(u["period"][k] for u in units) for k in ("received", "resolved", "late")},
    }
    return {
        "period": period,
        "start": snapshot["start"],
        "end": snapshot["end"],
        "as_of": now.isoformat(),
        "applied_events": state.stats.get("applied", 0),
        "totals": totals,
        "units": units,
    }
