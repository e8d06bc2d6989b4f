"""Scenario names for ``tthc-monitor simulate``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Protocol

from tthc_monitor.config import Settings
from tthc_monitor.simulate import quangtri
from tthc_monitor.simulate.plan import Emitter


class Ticker(Protocol):
    """Progress of a scenario, drawn by the command line (tthc_monitor/cli/progress.py):
    ``reset`` gives the number of dossiers once planned, ``update`` counts those emitted."""

    def reset(self, total: int | None = None) -> object: ...

    def update(self, n: int = 1) -> object: ...


class Scenario(Protocol):
    def __call__(
        self, settings: Settings, out: Path, seed: int, bar: Ticker | None = None
    ) -> int: ...


def quangtri_2022_04(settings: Settings, out: Path, seed: int, bar: Ticker | None = None) -> int:
    builder = quangtri.build(settings.registry, settings.calendar, seed)
    emitter = Emitter(settings.calendar)
    if bar is not None:
        bar.reset(total=len(builder.plans))
    events: list[dict[str, Any]] = []
    for plan in builder.plans:
        events += emitter.events_of(plan)
        if bar is not None:
            bar.update()
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


def quangtri_2025_07(settings: Settings, out: Path, seed: int, bar: Ticker | None = None) -> int:
    # No progress: a few seconds, written by one call with no hook.
    from tthc_monitor.simulate.quangtri.reorganisation import write_quangtri_2025_07

    count = write_quangtri_2025_07(
        settings.units, settings.procedures, settings.calendar, out, seed
    )
    print(
        f"the events need the registry written to {out.with_suffix('.units')}/ "
        f"(--units {out.with_suffix('.units')})",
        file=sys.stderr,
    )
    return count


SCENARIOS: dict[str, Scenario] = {
    "quangtri-2022-04": quangtri_2022_04,
    "quangtri-2025-07": quangtri_2025_07,
}
