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
    def totals(self) -> str:
        """Hash: ``{unit}|{metric}`` -> sum over every period of ``periods`` (running
        totals, written with the period deltas); field ``|ready`` once complete."""
        return f"{self.namespace}:totals"

    @property
    def event_ids(self) -> str:
        return f"{self.namespace}:eid"

    @property
    def event_id_conflicts(self) -> str:
        """Hash: ``{event_id}|{dossier_id}`` -> the dossier that holds the id (refused once)."""
        return f"{self.namespace}:eid:conflicts"

    def closed(self, period: str) -> str:
        """Sorted set: dossier id -> close time of the closed dossiers whose latest
        counter period is ``period`` (candidates for compaction, store/retention.py)."""
        return f"{self.namespace}:closed:{period}"

    @property
    def ledger(self) -> str:
        """Hash: the worker's messages in flight (record_progress.lua: verdicts, DLQ claims)."""
        return f"{self.namespace}:ledger"

    @property
    def progress(self) -> str:
        return f"{self.namespace}:progress"

    @property
    def stats(self) -> str:
        return f"{self.namespace}:stats"

    # -- alerts (docs/alerts.md, "Keys") ---------------------------------------------
    @property
    def timers(self) -> str:
        """Sorted set: dossier id -> the next fire time (epoch seconds) of its plan record;
        the sweeper's queue."""
        return f"{self.namespace}:timers"

    @property
    def alert_records(self) -> str:
        """Hash: dossier id -> its plan record, a line per alert scheduled and not fired
        (store/schedule_codec.py)."""
        return f"{self.namespace}:alert"

    @property
    def fired(self) -> str:
        """Sorted set: alert id -> fire time of every alert fired (pruned by age)."""
        return f"{self.namespace}:fired"

    def open_index(self, unit_id: str) -> str:
        """Sorted set: ``{dossier_id}|{stage}`` -> due of the spans running at a unit."""
        return f"{self.namespace}:open:{unit_id}"

    def open_interagency(self, unit_id: str) -> str:
        """Sorted set: the inter-agency members of ``open_index`` (same member, same due),
        so the exporter counts both stages with ZCOUNT."""
        return f"{self.namespace}:open:{unit_id}:ia"

    def outbox(self, sink: str) -> str:
        """List: fired alerts waiting for one sink (``kafka``, ``webhook``)."""
        return f"{self.namespace}:alerts:outbox:{sink}"

    def sending(self, sink: str) -> str:
        """Sorted set: alerts a worker is delivering to a sink -> lease end (wall time)."""
        return f"{self.namespace}:alerts:sending:{sink}"
