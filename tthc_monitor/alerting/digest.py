"""The per-unit daily digest: dossiers due today, due the next working day, overdue.

Built from the per-unit due index (``{ns}:open:{unit}``, maintained with every dossier
write), so it lists the spans running now: open and not paused (a paused dossier's due
is moving, so it is neither due nor overdue). Dossier ids only, no personal data; the
unit is printed by its registry name (the caller passes it: the digest reads no registry).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from tthc_monitor.core.calendar import WorkingCalendar
from tthc_monitor.store.alert_store import AlertStore, IndexEntry


@dataclass(frozen=True)
class Digest:
    unit_id: str
    day: date
    next_working_day: date
    due_today: tuple[IndexEntry, ...]
    due_next: tuple[IndexEntry, ...]
    """Due after ``day`` up to the end of the next working day."""
    overdue: tuple[IndexEntry, ...]
    """Due before ``day`` began, still open."""
    unit_name: str | None = None
    """The unit's registry name; None: not given, the id is printed instead."""

    @property
    def title(self) -> str:
        return self.unit_name or self.unit_id

    def as_dict(self) -> dict[str, Any]:
        def rows(entries: tuple[IndexEntry, ...]) -> list[dict[str, str]]:
            return [
                {"dossier_id": e.dossier_id, "stage": e.stage, "due_at": e.due_at.isoformat()}
                for e in entries
            ]

        return {
            "unit_id": self.unit_id,
            "unit_name": self.title,
            "date": self.day.isoformat(),
            "next_working_day": self.next_working_day.isoformat(),
            "due_today": rows(self.due_today),
            "due_next_working_day": rows(self.due_next),
            "overdue": rows(self.overdue),
        }

    def text(self) -> str:
        lines = [f"{self.title}: tình hình hồ sơ ngày {_vn(self.day)}", ""]
        sections = (
            ("Hồ sơ đến hạn hôm nay", self.due_today),
            (
                f"Hồ sơ đến hạn ngày làm việc tiếp theo ({_vn(self.next_working_day)})",
                self.due_next,
            ),
            ("Hồ sơ quá hạn", self.overdue),
        )
        for heading, entries in sections:
            lines.append(f"{heading}: {len(entries)}")
            for e in entries:
                where = " (liên thông)" if e.stage == "interagency" else ""
                due = e.due_at.strftime("%H:%M ") + _vn(e.due_at.date())
                lines.append(f"  - {e.dossier_id}{where}, hạn {due}")
            lines.append("")
        return "\n".join(lines)


def _vn(day: date) -> str:
    return day.strftime("%d/%m/%Y")


async def build_digest(
    store: AlertStore,
    calendar: WorkingCalendar,
    unit_id: str,
    day: date,
    unit_name: str | None = None,
) -> Digest:
    """``unit_name``: the registry's name of the unit (``registry.unit(unit_id).name``)."""

    def start(d: date) -> datetime:
        return datetime.combine(d, time(0), tzinfo=calendar.tz)

    following = calendar.add_working_days(day, 1)
    tomorrow = day + timedelta(days=1)
    today = await store.due_between(unit_id, start(day), start(tomorrow))
    upcoming = await store.due_between(
        unit_id, start(tomorrow), start(following + timedelta(days=1))
    )
    overdue = await store.due_between(unit_id, None, start(day))
    return Digest(unit_id, day, following, tuple(today), tuple(upcoming), tuple(overdue), unit_name)
