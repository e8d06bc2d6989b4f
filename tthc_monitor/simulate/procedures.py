"""Picks, for a planned dossier, a catalog procedure whose flags fit its plan."""

from __future__ import annotations

import random

from schemas.reference import Procedure
from tthc_monitor.core.counters import LAND_SECTOR
from tthc_monitor.reference.registry import Registry
from tthc_monitor.simulate.plan import Flags


class NoProcedure(LookupError):
    pass


class ProcedurePicker:
    def __init__(self, registry: Registry, rng: random.Random) -> None:
        self.registry = registry
        self.rng = rng
        self._cache: dict[str, tuple[Procedure, ...]] = {}

    def available(self, unit_id: str) -> tuple[Procedure, ...]:
        if unit_id not in self._cache:
            self._cache[unit_id] = self.registry.procedures_available(unit_id)
        return self._cache[unit_id]

    def matches(self, unit_id: str, flags: Flags) -> list[Procedure]:
        return [
            p
            for p in self.available(unit_id)
            if (p.sector == LAND_SECTOR) == flags.land
            and (flags.fee is None or p.has_fee == flags.fee)
            and (flags.components is None or p.digitize_components == flags.components)
            and (flags.results is None or p.digitize_results == flags.results)
        ]

    def can(self, unit_id: str, flags: Flags) -> bool:
        return bool(self.matches(unit_id, flags))

    def pick(self, unit_id: str, flags: Flags) -> str:
        found = self.matches(unit_id, flags)
        if not found:
            raise NoProcedure(f"no procedure of {unit_id} fits {flags}")
        return self.rng.choice(found).procedure_id
