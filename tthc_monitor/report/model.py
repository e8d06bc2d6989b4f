"""The typed report: cells, columns, rows, tables, appendices, periods, and `ReportError`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Literal

from tthc_monitor.report.profile import RateSpec
from tthc_monitor.report.rates import percent
from tthc_monitor.report.vnformat import format_date_long, format_decimal

__all__ = [
    "Appendix",
    "Cell",
    "Column",
    "ColumnKind",
    "Count",
    "Period",
    "Rate",
    "Report",
    "ReportError",
    "Row",
    "RowKind",
    "Table",
    "Text",
]

# Counts stay integers and rates keep their numerator and denominator, so every writer
# (xlsx, CSV, Markdown, narrative) formats the same values and a total row can always be
# the sum of the rows printed above it, never a copied figure.


class ReportError(ValueError):
    """Snapshots that cannot be laid out (a unit missing, a malformed figure)."""


# --------------------------------------------------------------------------- cells


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Count:
    value: int


@dataclass(frozen=True)
class Rate:
    """A percentage kept as its two counts; rounded only when read."""

    numerator: int
    denominator: int
    spec: RateSpec

    @property
    def value(self) -> Decimal | None:
        """Rounded per the spec; `None` for a zero denominator (machine-readable output)."""
        return percent(self.numerator, self.denominator, self.spec.places, self.spec.rounding)

    @property
    def shown(self) -> Decimal:
        """The value printed: a zero denominator prints as 0 (the seed's habit)."""
        value = self.value
        return value if value is not None else Decimal(0).scaleb(-self.spec.places)

    @property
    def text(self) -> str:
        """Vietnamese text as printed in the appendix: `99,20`, `87,1`, `100`."""
        return format_decimal(self.shown, trim=self.spec.style == "trim")


Cell = Text | Count | Rate | None


# --------------------------------------------------------------------------- tables


ColumnKind = Literal["stt", "label", "count", "rate"]
RowKind = Literal["section", "unit", "subtotal", "total"]


@dataclass(frozen=True)
class Column:
    """One printed column. `heading` is the path of headings above it, outermost first
    (a grouped heading such as "Trong đó" is shared by the columns that start with it);
    `number` is the printed column number or letter, `(4)` or `B`."""

    key: str
    heading: tuple[str, ...]
    kind: ColumnKind
    number: str = ""
    rate_of: tuple[str, str] | None = None  # (numerator key, denominator key)
    rate_spec: RateSpec | None = None  # rounding of a rate column (per table, from the profile)
    width: float = 12.0


@dataclass(frozen=True)
class Row:
    """`number` is the machine-readable STT (`"3"`, `"I"`, `"total"`); `cells` follow the
    table's columns."""

    kind: RowKind
    number: str
    cells: tuple[Cell, ...]
    group: str = ""
    unit_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Table:
    id: str
    csv_name: str
    subtitle: str | None
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]
    notes: tuple[str, ...] = ()
    merge_columns: tuple[str, ...] = ()  # printed once per run of equal values (PL4 district)
    grouped: bool = False  # rows sit under section rows I/II/III

    def index(self, key: str) -> int:
        for i, column in enumerate(self.columns):
            if column.key == key:
                return i
        raise KeyError(f"table {self.id} has no column {key!r}")

    def cell(self, row: Row, key: str) -> Cell:
        return row.cells[self.index(key)]

    def count(self, row: Row, key: str) -> int:
        cell = self.cell(row, key)
        if not isinstance(cell, Count):
            raise TypeError(f"table {self.id} column {key!r} is not a count")
        return cell.value

    def rate(self, row: Row, key: str) -> Rate:
        cell = self.cell(row, key)
        if not isinstance(cell, Rate):
            raise TypeError(f"table {self.id} column {key!r} is not a rate")
        return cell

    @property
    def unit_rows(self) -> tuple[Row, ...]:
        return tuple(r for r in self.rows if r.kind == "unit")

    @property
    def total_row(self) -> Row:
        return next(r for r in self.rows if r.kind == "total")


@dataclass(frozen=True)
class Appendix:
    id: str
    label: str
    sheet: str
    title: str
    period_text: str  # "(Từ ngày 15 tháng 3 năm 2022 đến ngày 14 tháng 4 năm 2022)"
    tables: tuple[Table, ...]


@dataclass(frozen=True)
class Period:
    name: str
    months: int
    first_day: date
    last_day: date  # inclusive

    @property
    def text(self) -> str:
        return f"(Từ {format_date_long(self.first_day)} đến {format_date_long(self.last_day)})"


@dataclass(frozen=True)
class Report:
    province: str
    issuer: str
    period: Period
    land_period: Period
    as_of: str
    version: str | None
    appendices: tuple[Appendix, ...]
    tables: Mapping[str, Table] = field(default_factory=dict)

    def table(self, table_id: str) -> Table:
        return self.tables[table_id]
