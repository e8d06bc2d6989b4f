"""The trend's document and its Vietnamese table (web/trend.py, cli/trend.py), from a
registry with a succession, without Redis."""

from __future__ import annotations

from tests.unit.test_trends import PERIODS, SCHEME, counters, registry
from tthc_monitor.cli.trend import text
from tthc_monitor.core.trends import FIGURES, period_rows, unit_trend
from tthc_monitor.web.trend import trend_document


def test_the_table_marks_and_names_the_predecessors() -> None:
    reg = registry()
    rows = period_rows(PERIODS, counters(), levels=False)
    document = trend_document(unit_trend(reg, SCHEME, rows, "c", FIGURES["on_time_rate"]), reg)
    assert document["note"] == "Gồm số liệu của đơn vị tiền nhiệm: Đơn vị B, Đơn vị A"
    assert document["summed_from"][1] == {
        "unit_id": "a",
        "name": "Đơn vị A",
        "last_day": "2025-02-14",
    }
    lines = text(document).splitlines()
    assert lines[0] == "Tỷ lệ đúng hạn — Đơn vị C, 5 kỳ từ 1/2025 đến 5/2025"
    assert lines[2].split() == ["1/2025", "80%", "(8/10)", "¹", "Đơn", "vị", "A"]
    assert lines[4].split() == ["3/2025", "0%", "(0/6)", "¹", "Đơn", "vị", "B"]
    assert lines[5].split() == ["4/2025", "–"]  # nothing resolved: not measured
    assert lines[-1] == (
        "¹ Gồm số liệu của đơn vị tiền nhiệm: Đơn vị B (đến hết 14/03/2025); "
        "Đơn vị A (đến hết 14/02/2025)"
    )


def test_large_counts_are_written_the_vietnamese_way() -> None:
    reg = registry()
    hashes = {p: {"d|received_online": 12345} for p in PERIODS}
    rows = period_rows(PERIODS, hashes, levels=False)
    document = trend_document(unit_trend(reg, SCHEME, rows, "d", FIGURES["received_new"]), reg)
    assert text(document).splitlines()[2].split() == ["1/2025", "12.345"]
    assert document["note"] == "" and "¹" not in text(document)
