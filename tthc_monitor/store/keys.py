"""Redis key names, in one place (docs/redis-layout.md documents them)."""

from __future__ import annotations

from dataclasses import dataclass

from tthc_monitor.core.counters import GLOBAL_PERIOD


@dataclass(frozen=True)
class Keys:
    namespace: str = "tthc"

    def dossier(self, dossier_id: str) -> str:
        return f"{self.namespace}:d:{dossier_id}"

    def counters(self, period: str) -> str:
        if period == GLOBAL_PERIOD:
            return f"{self.namespace}:g"
        return f"{self.namespace}:p:{period}"

    @property
    def periods(self) -> str:
        return f"{self.namespace}:periods"

    @property
    def event_ids(self) -> str:
        return f"{self.namespace}:eid"

    @property
    def progress(self) -> str:
        return f"{self.namespace}:progress"

    @property
    def stats(self) -> str:
        return f"{self.namespace}:stats"
