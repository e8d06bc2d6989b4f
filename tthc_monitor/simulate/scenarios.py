"""Scenario names for ``tthc-monitor simulate``."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tthc_monitor.config import Settings
from tthc_monitor.simulate import quangtri
from tthc_monitor.simulate.plan import Emitter


def quangtri_2022_04(settings: Settings, out: Path, seed: int) -> int:
    builder = quangtri.build(settings.registry, settings.calendar, seed)
    emitter = Emitter(settings.calendar)
    events = [e for plan in builder.plans for e in emitter.events_of(plan)]
    # A producer emits in time order; ties keep the plan order.
    events.sort(key=lambda e: e["occurred_at"])
    with out.open("w", encoding="utf-8") as handle:
        for event in events:
            handle.write(json.dumps(event, ensure_ascii=False, separators=(",", ":")) + "\n")
    notes = out.with_suffix(".reconciled.json")
    notes.write_text(
        json.dumps([vars(r) for r in builder.reconciled], ensure_ascii=False, indent=1) + "\n",
        encoding="utf-8",
    )
    return len(events)


SCENARIOS: dict[str, Callable[[Settings, Path, int], int]] = {
    "quangtri-2022-04": quangtri_2022_04,
}
