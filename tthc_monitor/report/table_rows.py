"""Shared by the appendix builders: a row's cells from its values, and summed totals."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from tthc_monitor.report.model import Cell, Column, Count, Rate, Text

__all__ = ["Values", "count_column_keys", "row_cells", "sum_values"]

Values = Mapping[str, int]


def row_cells(columns: Sequence[Column], labels: Mapping[str, str], values: Values) -> list[Cell]:
    cells: list[Cell] = []
    for column in columns:
        if column.kind in ("stt", "label"):
            cells.append(Text(labels.get(column.key, "")))
        elif column.kind == "count":
            cells.append(Count(values[column.key]))
        else:
            assert column.rate_of is not None and column.rate_spec is not None
            numerator, denominator = column.rate_of
            cells.append(Rate(values[numerator], values[denominator], column.rate_spec))
    return cells


def sum_values(rows: Iterable[Values], keys: Iterable[str]) -> dict[str, int]:
    keys = tuple(keys)
    total = dict.fromkeys(keys, 0)
    for values in rows:
        for key in keys:
            total[key] += values[key]
    return total


def count_column_keys(columns: Sequence[Column]) -> tuple[str, ...]:
    return tuple(c.key for c in columns if c.kind == "count")
