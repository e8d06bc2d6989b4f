"""docs/reconciliation.md lists every appendix cell that differs from the seed."""

from __future__ import annotations

from pathlib import Path

from tests.integration.test_month import FROM_RECONCILED, SUPERSEDED
from tests.unit.test_report_seed import SEED_EXCEPTIONS

DOC = Path(__file__).resolve().parents[2] / "docs" / "reconciliation.md"


def test_every_differing_cell_is_listed() -> None:
    rows = {
        tuple(part.strip().strip("`") for part in line.strip("|").split("|")[:5])
        for line in DOC.read_text(encoding="utf-8").splitlines()
        if line.startswith("| `appendix")
    }
    cells = {(e.csv, e.row, e.column, e.printed, e.computed) for e in SEED_EXCEPTIONS}
    cells = (cells - SUPERSEDED).union(*FROM_RECONCILED.values())
    listed = {(c[0], c[1], c[2], c[3] or "(empty)", c[4]) for c in cells}
    assert listed == rows
