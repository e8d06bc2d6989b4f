"""The wall's figures, per report row, from one live read (pure)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tthc_monitor.core import figures
from tthc_monitor.core.index766 import Indicator, scores
from tthc_monitor.core.periods import PeriodScheme
from tthc_monitor.core.snapshot import build_snapshot
from tthc_monitor.metrics.live import STATES, LiveState
from tthc_monitor.reference.registry import Registry


def _ratio(rate: figures.Rate) -> float | None:
    return None if rate.value is None else round(rate.value, 4)


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
        e = rows.get(unit_id)
        if e is None:
            continue  # not listed for the period (registry versions: out of force, idle)
        members = registry.subtree(unit_id)
        open_now = {
            s: sum(state.open.get(m, {}).get(("owner", s), 0) for m in members) for s in STATES
        }
        today = {
            key: sum(state.today.get(m, {}).get(f"day_{key}", 0) for m in members)
            for key in ("received", "resolved")
        }
        measured = scores(e, indicators)
        index = {
            s.indicator.id: {"rate": s.rate, "points": s.points, "gap": s.gap} for s in measured
        }
        units.append(
            {
                "unit_id": unit_id,
                "name": registry.unit(unit_id).name,
                "group": registry.unit(unit_id).report_group,
                "today": today,
                "open": open_now,
                "period": {
                    "received": figures.received_total(e),
                    "resolved": figures.resolved_total(e),
                    "late": e["resolved_late"],
                    "on_time_rate": _ratio(figures.on_time_share_of_resolved(e)),
                    # PL1's share of all received (column (7)), not the 766 indicator 3.3.
                    "online_rate": _ratio(figures.online_share_of_received(e)),
                    "components_full_rate": _ratio(figures.full_components_share(e)),
                    "results_rate": _ratio(figures.digitized_results_share(e)),
                    "online_payment_rate": _ratio(figures.online_payment_share(e)),
                },
                "index766": index,
                "index766_points": round(sum(v["points"] or 0 for v in index.values()), 2),
                # The most this unit could score on what was measured: an indicator with
                # no denominator (no fees, nothing resolved) is not measured, not zero.
                "index766_max": round(
                    sum(s.indicator.points for s in measured if s.rate is not None), 2
                ),
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
