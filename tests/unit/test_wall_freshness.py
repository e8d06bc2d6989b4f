"""When the wall calls its figures stale, and how it states how late a dossier is."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tthc_monitor.core.periods import LOCAL_TZ
from tthc_monitor.reference.calendar_files import load_calendar
from tthc_monitor.reference.registry import load_registry
from tthc_monitor.store.freshness import Freshness
from tthc_monitor.store.overdue import OverdueSpan
from tthc_monitor.web.freshness import freshness_document, overdue_document

CAL = load_calendar()
EVENT = datetime(2022, 4, 6, 10, 0, tzinfo=LOCAL_TZ)  # a Wednesday


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=LOCAL_TZ)


@pytest.mark.parametrize(
    ("now", "stale", "working"),
    [
        ("2022-04-06T10:14:59", False, True),  # 15 min: not yet
        ("2022-04-06T10:15:01", True, True),
        ("2022-04-06T16:59:00", True, True),
        ("2022-04-06T17:00:00", False, False),  # office closed: silence is normal
        ("2022-04-07T06:59:00", False, False),
        ("2022-04-07T07:00:00", True, True),
        ("2022-04-09T10:00:00", False, False),  # Saturday
        ("2022-04-11T10:00:00", False, False),  # Giỗ Tổ Hùng Vương, observed
    ],
)
def test_stale_only_in_working_hours(now: str, stale: bool, working: bool) -> None:
    document = freshness_document(Freshness(EVENT, EVENT), at(now), CAL)
    assert (document["stale"], document["working_hours"]) == (stale, working)
    assert document["age_seconds"] == (at(now) - EVENT).total_seconds()


def test_no_record_is_stale_in_working_hours_only() -> None:
    empty = Freshness(None, None)
    assert freshness_document(empty, at("2022-04-06T10:00:00"), CAL)["stale"] is True
    assert freshness_document(empty, at("2022-04-06T20:00:00"), CAL)["stale"] is False
    assert freshness_document(empty, at("2022-04-06T10:00:00"), CAL)["event_at"] is None


def test_overdue_in_working_days_or_hours() -> None:
    registry = load_registry()
    now = at("2022-04-06T10:00:00")
    spans = [
        # Due Friday 1/4 17:00: Monday, Tuesday, Wednesday (today counted) -> 3.
        OverdueSpan("so-y-te", "000.00.YT.H50-220325-0001", "owner", at("2022-04-01T17:00:00")),
        # Due earlier today: in hours.
        OverdueSpan("so-tu-phap", "D2", "interagency", now - timedelta(hours=2, minutes=30)),
    ]
    rows = overdue_document(spans, registry, CAL, now)
    assert [r["overdue_working_days"] for r in rows] == [3, 0]
    assert rows[1]["overdue_hours"] == 2.5
    assert [r["unit_name"] for r in rows] == ["Sở Y tế", "Sở Tư pháp"]
