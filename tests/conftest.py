"""Shared fixtures: the bundled reference data and the engine built from it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tthc_monitor.core.calendar import WorkingCalendar
from tthc_monitor.core.engine import Engine
from tthc_monitor.core.periods import PeriodScheme
from tthc_monitor.reference.calendar_files import load_calendar
from tthc_monitor.reference.registry import Registry, load_registry

ROOT = Path(__file__).resolve().parents[1]
_REGISTRY = load_registry()
_CALENDAR = load_calendar()
_ENGINE = Engine(_REGISTRY, _CALENDAR, PeriodScheme(15))


@pytest.fixture(scope="session")
def registry() -> Registry:
    return _REGISTRY


@pytest.fixture(scope="session")
def calendar() -> WorkingCalendar:
    return _CALENDAR


@pytest.fixture(scope="session")
def engine() -> Engine:
    return _ENGINE


# `make check` (the edit loop, under three minutes) deselects these with -m "not slow"
# (folders, files or single tests):
# the fault suite and the tests that replay the whole April 2022 month, build the wheel,
# or start a broker or Redis of their own. `make test` and CI run everything.
SLOW = {
    "tests/faults",
    "tests/integration/test_month.py",
    "tests/integration/test_wheel.py",
    "tests/integration/test_up.py",
    "tests/integration/test_kafka_sasl.py",
    "tests/integration/test_redis_auth.py",
    "tests/integration/test_rebuild_accounting.py",
    "tests/integration/test_personal_data.py",
    "tests/integration/test_cdc.py",
    "tests/integration/test_alerts.py::test_alerts_fire_once_across_a_kill_and_restart",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        path = item.path.relative_to(ROOT).as_posix()
        test = f"{path}::{item.name}"
        if any(slow in (path, test) or path.startswith(slow + "/") for slow in SLOW):
            item.add_marker(pytest.mark.slow)
