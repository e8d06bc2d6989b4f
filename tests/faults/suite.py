"""How much of the fault suite runs (full variants, kill count) and `record` of its figures."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from tests.integration.conftest import ROOT

__all__ = ["FULL", "fault_kills", "full_only", "record"]

FULL = os.environ.get("TTHC_FAULT_FULL") == "1"
full_only = pytest.mark.skipif(
    not FULL, reason="a milder variant, run by `make faults` (TTHC_FAULT_FULL=1)"
)


def fault_kills() -> int:
    """SIGKILLs of the kill loop: TTHC_FAULT_KILLS (make faults: 20; CI default: 4)."""
    return int(os.environ.get("TTHC_FAULT_KILLS", "4"))


def record(name: str, **figures: Any) -> None:
    """Measured figures of a case, printed and appended to test-artifacts/faults.jsonl
    (docs/faults.md is written from them)."""
    line = {"case": name, **figures}
    print(f"fault {name}: {json.dumps(figures)}")
    out = ROOT / "test-artifacts"
    out.mkdir(exist_ok=True)
    with (out / "faults.jsonl").open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(line) + "\n")
