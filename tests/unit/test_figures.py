"""Derived totals and rates (core/figures.py): the rules, and the seed report still
reproduced from them (the April 2022 report of Quảng Trị, tests/fixtures/seed/)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest

from tests.fixtures.seed_snapshot import seed_rows, seed_snapshots
from tthc_monitor.core import figures
from tthc_monitor.core.index766 import Indicator, scores
from tthc_monitor.reference.registry import Registry
from tthc_monitor.report.profile import ReportProfile, load_profile

Entry = dict[str, Any]


def entry(**values: int) -> Entry:
    """A snapshot entry with every counter the figures read, zero unless given."""
    base: Entry = dict.fromkeys(
        (
            *figures.RECEIVED_PARTS,
            *figures.RESOLVED_PARTS,
            "in_progress_within",
            "in_progress_overdue",
        ),
        0,
    )
    base["digitization"] = {"received": 0, "fully": 0, "resolved": 0, "results": 0}
    base["fees"] = {"dossiers": 0, "paid_national_portal": 0}
    for key, value in values.items():
        group, _, name = key.partition("__")
        if name:
            base[group][name] = value
        else:
            base[key] = value
    return base


MIXED = entry(
    received_online=30,
    received_direct=10,
    carried_over=40,
    received_interagency=20,
    resolved_early=5,
    resolved_on_time=10,
    resolved_late=5,
    in_progress_within=15,
    in_progress_overdue=5,
    digitization__received=8,
    digitization__fully=6,
    digitization__resolved=4,
    digitization__results=1,
    fees__dossiers=10,
    fees__paid_national_portal=3,
)


def test_totals() -> None:
    assert figures.received_total(MIXED) == 100
    assert figures.received_new(MIXED) == 40
    assert figures.resolved_total(MIXED) == 20
    assert figures.resolved_in_time(MIXED) == 15


def test_the_two_online_rates_differ_and_each_names_its_denominator() -> None:
    pl1 = figures.online_share_of_received(MIXED)
    index_33 = figures.online_share_of_new(MIXED)
    assert (pl1.numerator, pl1.denominator, pl1.value) == (30, 100, 0.3)
    assert (index_33.numerator, index_33.denominator, index_33.value) == (30, 40, 0.75)


def test_the_other_rates() -> None:
    assert figures.on_time_share_of_resolved(MIXED) == figures.Rate(15, 20)
    # 766 indicator 2.1: open dossiers within their due count as in time.
    assert figures.in_time_share_of_measured(MIXED) == figures.Rate(30, 40)
    assert figures.full_components_share(MIXED) == figures.Rate(6, 8)
    assert figures.digitized_results_share(MIXED) == figures.Rate(1, 4)
    assert figures.online_payment_share(MIXED) == figures.Rate(3, 10)


def test_nothing_measured_is_none_never_zero() -> None:
    empty = entry()
    for rate in (
        figures.online_share_of_received,
        figures.online_share_of_new,
        figures.on_time_share_of_resolved,
        figures.in_time_share_of_measured,
        figures.full_components_share,
        figures.digitized_results_share,
        figures.online_payment_share,
    ):
        assert rate(empty).value is None, rate.__name__
    assert figures.Rate(0, 5).value == 0.0


def test_index_766_uses_the_share_of_new_receipts() -> None:
    indicators = (
        Indicator("3.3", "Hồ sơ trực tuyến", 6.0, 0.5),
        Indicator("9.9", "không đo được", 1.0, None),
    )
    online, unmeasured = scores(MIXED, indicators)
    assert online.rate == 0.75  # not PL1's 0.3
    assert online.points == 6.0  # target 50% met
    assert unmeasured.rate is None and unmeasured.points is None


# ------------------------------------------------------------------ the seed report


@pytest.fixture(scope="module")
def profile() -> ReportProfile:
    return load_profile()


@pytest.fixture(scope="module")
def seed_units(registry: Registry, profile: ReportProfile) -> dict[str, Mapping[str, Any]]:
    month, _ = seed_snapshots(registry, profile)
    return {u["unit_id"]: u for u in month["units"]}


def _pct(rate: figures.Rate, like: Decimal) -> Decimal:
    """The rate in percent, rounded half-up to the decimals of ``like`` (0/0 is 0, as the
    appendices print it)."""
    if rate.value is None:
        return Decimal(0)
    exact = Decimal(rate.numerator * 100) / Decimal(rate.denominator)
    return exact.quantize(like, rounding=ROUND_HALF_UP)


def _rows_by_unit(
    registry: Registry, names: Mapping[str, str], file: str
) -> list[tuple[str, dict[str, str]]]:
    by_name = {names.get(u, registry.unit(u).name): u for u in registry.top_level()}
    return [(by_name[r["unit_name"]], r) for r in seed_rows(file) if r["stt"] != "total"]


def test_seed_pl1_total_and_online_share(
    registry: Registry, profile: ReportProfile, seed_units: dict[str, Mapping[str, Any]]
) -> None:
    rows = _rows_by_unit(registry, profile.pl1.names, "appendix1_online_reception.csv")
    assert len(rows) == 33
    for unit_id, row in rows:
        e = seed_units[unit_id]
        assert figures.received_total(e) == int(row["total"]), row["unit_name"]
        share = figures.online_share_of_received(e)
        assert _pct(share, Decimal("0.01")) == Decimal(row["online_rate_pct"]), row["unit_name"]


def test_seed_pl3_totals(
    registry: Registry, profile: ReportProfile, seed_units: dict[str, Mapping[str, Any]]
) -> None:
    rows = _rows_by_unit(registry, profile.pl3.names, "appendix3_resolution.csv")
    assert len(rows) == 32
    for unit_id, row in rows:
        e = seed_units[unit_id]
        assert figures.received_total(e) == int(row["total"]), row["unit_name"]
        assert figures.resolved_total(e) == int(row["resolved"]), row["unit_name"]


@pytest.mark.parametrize(
    ("file", "table", "column", "rate"),
    [
        (
            "appendix2a_component_digitization.csv",
            "pl2a",
            "full_rate_pct",
            figures.full_components_share,
        ),
        (
            "appendix2b_result_digitization.csv",
            "pl2b",
            "rate_pct",
            figures.digitized_results_share,
        ),
    ],
)
def test_seed_digitization_rates(
    registry: Registry,
    profile: ReportProfile,
    seed_units: dict[str, Mapping[str, Any]],
    file: str,
    table: str,
    column: str,
    rate: Callable[[Mapping[str, Any]], figures.Rate],
) -> None:
    names = getattr(profile, table).names
    for unit_id, row in _rows_by_unit(registry, names, file):
        printed = Decimal(row[column])  # the seed's own number of decimals (100.0, 83.17)
        assert _pct(rate(seed_units[unit_id]), printed) == printed, row["unit_name"]


def test_the_dashboards_sum_the_same_parts() -> None:
    """Grafana computes in PromQL what the exporter and the wall take from core.figures."""
    from dashboards.builders import queries

    assert set(queries.TOTAL_IN.split("|")) == set(figures.RECEIVED_PARTS)
    assert set(queries.RESOLVED.split("|")) == set(figures.RESOLVED_PARTS)
    assert set(queries.ON_TIME.split("|")) == {"resolved_early", "resolved_on_time"}
