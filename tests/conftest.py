"""Shared fixtures: the bundled reference data and the engine built from it."""

from __future__ import annotations

import pytest

from tthc_monitor.core.calendar import WorkingCalendar, load_calendar
from tthc_monitor.core.engine import Engine
from tthc_monitor.core.periods import PeriodScheme
from tthc_monitor.reference.registry import Registry, load_registry

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
