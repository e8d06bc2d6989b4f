"""Totals and rates derived from a unit's snapshot entry, each rule written once. Pure.

The snapshot (``core/snapshot.py``) keeps integer counters only; every reader that
prints or exports a total or a rate (the report's appendices, the Decision 766 index,
the exporter's ``tthc_period_rate_ratio``, the wall) takes it from here.

Two online rates exist and must not be confused (docs/rules.md):

- :func:`online_share_of_received`: PL1 column (7), dossiers received online over
  *all* dossiers received for processing in the period (column (3): new online, new
  direct or postal, carried over from the previous period, received inter-agency);
- :func:`online_share_of_new`: Decision 766 indicator 3.3, received online over the
  dossiers *newly* received by the owner, online or direct (nothing carried over, no
  inter-agency receipts).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "RECEIVED_PARTS",
    "RESOLVED_PARTS",
    "Rate",
    "digitized_results_share",
    "full_components_share",
    "in_time_share_of_measured",
    "on_time_share_of_resolved",
    "online_payment_share",
    "online_share_of_new",
    "online_share_of_received",
    "received_new",
    "received_total",
    "resolved_in_time",
    "resolved_total",
]

Entry = Mapping[str, Any]
"""One unit's entry of a snapshot document (docs/snapshot.md)."""

RECEIVED_PARTS: tuple[str, ...] = (
    "received_online",
    "received_direct",
    "carried_over",
    "received_interagency",
)
"""What "received for processing" (PL1 and PL3 column (3)) adds up. Inter-agency
receipts are in it: the seed report's rows count them, PL3 shows them in column (7)."""

RESOLVED_PARTS: tuple[str, ...] = ("resolved_early", "resolved_on_time", "resolved_late")


@dataclass(frozen=True, slots=True)
class Rate:
    """A share kept as its two integers, so callers choose how to print or round it."""

    numerator: int
    denominator: int

    @property
    def value(self) -> float | None:
        """``numerator / denominator``; ``None`` when nothing was measured, never zero."""
        return self.numerator / self.denominator if self.denominator else None


def _sum(entry: Entry, keys: tuple[str, ...]) -> int:
    return sum(int(entry[key]) for key in keys)


def received_total(entry: Entry) -> int:
    """Dossiers received for processing: new online + new direct + carried over +
    inter-agency (PL1/PL3 column (3))."""
    return _sum(entry, RECEIVED_PARTS)


def received_new(entry: Entry) -> int:
    """Dossiers newly received by their owner in the period, online or direct."""
    return int(entry["received_online"]) + int(entry["received_direct"])


def resolved_total(entry: Entry) -> int:
    """Dossiers resolved in the period: early + on time + late (PL3 column (8))."""
    return _sum(entry, RESOLVED_PARTS)


def resolved_in_time(entry: Entry) -> int:
    """Resolved early or on time."""
    return int(entry["resolved_early"]) + int(entry["resolved_on_time"])


def online_share_of_received(entry: Entry) -> Rate:
    """PL1 column (7): received online ÷ received for processing (:func:`received_total`)."""
    return Rate(int(entry["received_online"]), received_total(entry))


def online_share_of_new(entry: Entry) -> Rate:
    """Decision 766 indicator 3.3: received online ÷ (received online + direct)."""
    return Rate(int(entry["received_online"]), received_new(entry))


def on_time_share_of_resolved(entry: Entry) -> Rate:
    """Resolved early or on time ÷ resolved."""
    return Rate(resolved_in_time(entry), resolved_total(entry))


def in_time_share_of_measured(entry: Entry) -> Rate:
    """Decision 766 indicator 2.1: (early + on time + in progress within) ÷ (resolved +
    in progress). An open dossier is judged as it stands at the end of the period."""
    within = int(entry["in_progress_within"])
    measured = resolved_total(entry) + within + int(entry["in_progress_overdue"])
    return Rate(resolved_in_time(entry) + within, measured)


def full_components_share(entry: Entry) -> Rate:
    """PL2a column (6), Decision 766 indicator 4.2: fully digitized ÷ received (flagged
    procedures only)."""
    digitization = entry["digitization"]
    return Rate(int(digitization["fully"]), int(digitization["received"]))


def digitized_results_share(entry: Entry) -> Rate:
    """PL2b column (5), Decision 766 indicator 4.1: digitized results ÷ resolved."""
    digitization = entry["digitization"]
    return Rate(int(digitization["results"]), int(digitization["resolved"]))


def online_payment_share(entry: Entry) -> Rate:
    """Decision 766 indicator 3.6: fee dossiers paid through the national portal ÷ fee
    dossiers."""
    fees = entry["fees"]
    return Rate(int(fees["paid_national_portal"]), int(fees["dossiers"]))
