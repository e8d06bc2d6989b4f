"""The whole month end to end: simulate Quảng Trị April 2022, apply it, compare with the seed.

The generator's targets (tthc_monitor/simulate/data/quangtri-2022-04.json) are the seed
appendices keyed by unit (tests/unit/test_seed_targets.py proves it); the snapshots
must equal them except the cells listed in RECONCILED (docs/reconciliation.md).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import ROOT, Env
from tthc_monitor.simulate.quangtri import load_targets

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

# (appendix, unit, field) -> the value produced instead of the printed one.
RECONCILED = {
    ("PL2a", "so-lao-dong-thuong-binh-va-xa-hoi", "received"): 8,
    ("PL2b", "ubnd-dakrong", "resolved"): 3133,
    ("PL2b", "ubnd-vinh-linh", "resolved"): 3606,
    ("PL4", "xa-vinh-linh", "in_progress_overdue"): 727,
}
APPENDIX_OF = {
    "digitization": {
        "received": "PL2a",
        "with_components": "PL2a",
        "fully": "PL2a",
        "resolved": "PL2b",
        "results": "PL2b",
    }
}


def expected_cells() -> list[tuple[str, str, str, str, int]]:
    """(appendix, unit, snapshot path, field, value) for every target cell."""
    targets = load_targets()
    cells: list[tuple[str, str, str, str, int]] = []
    for unit, figures in targets["units"].items():
        for name, value in figures.items():
            if name == "digitization":
                cells += [
                    (APPENDIX_OF["digitization"][k], unit, "digitization", k, v)
                    for k, v in value.items()
                ]
            elif name == "fees":
                cells += [("PL5/PL6", unit, "fees", k, v) for k, v in value.items()]
            else:
                cells.append(("PL1/PL3", unit, "", name, value))
    for unit, figures in targets["branch_fees"].items():
        cells += [("PL6c", unit, "fees", k, v) for k, v in figures.items()]
    for unit, figures in targets["land"].items():
        cells += [("PL4", unit, "land", k, v) for k, v in figures.items()]
    return cells


def compare(april: dict[str, Any], land: dict[str, Any]) -> list[str]:
    units = {u["unit_id"]: u for u in april["units"]}
    land_units = {u["unit_id"]: u for u in land["units"]}
    problems = []
    for appendix, unit, path, name, printed in expected_cells():
        source = land_units if appendix == "PL4" else units
        got = source[unit][path][name] if path else source[unit][name]
        want = RECONCILED.get((appendix, unit, name), printed)
        if got != want:
            problems.append(f"{appendix} {unit} {name}: want {want} (printed {printed}), got {got}")
    return problems


@pytest.fixture(scope="module")
def month(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("month") / "quangtri-2022-04.jsonl"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "tthc_monitor.cli.main",
            "simulate",
            "quangtri-2022-04",
            "--out",
            str(out),
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=300,
    )
    return out


def test_generator_is_deterministic_and_reconciles_only_the_listed_cells(
    month: Path, tmp_path: Path
) -> None:
    again = tmp_path / "again.jsonl"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "tthc_monitor.cli.main",
            "simulate",
            "quangtri-2022-04",
            "--out",
            str(again),
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=300,
    )
    assert again.read_bytes() == month.read_bytes()
    notes = json.loads(month.with_suffix(".reconciled.json").read_text())
    assert {(n["appendix"], n["unit_id"], n["field"]): n["produced"] for n in notes} == RECONCILED


def snapshots(env: Env, tmp_path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    april, land = tmp_path / "april.json", tmp_path / "land.json"
    env.cli("snapshot", "--period", "2022-04", "--json", str(april))
    env.cli("snapshot", "--period", "2022-03", "--months", "3", "--json", str(land))
    return json.loads(april.read_text()), json.loads(land.read_text())


def test_month_through_replay(env: Env, month: Path, tmp_path: Path) -> None:
    started = time.monotonic()
    env.cli("replay", str(month), timeout=600)
    print(f"replay of the month: {time.monotonic() - started:.1f} s")
    assert compare(*snapshots(env, tmp_path)) == []


def test_month_through_kafka_and_the_worker(env: Env, month: Path, tmp_path: Path) -> None:
    env.start_worker(tmp_path)
    started = time.monotonic()
    env.cli("publish", str(month), "--wait", "--timeout", "840", timeout=900)
    print(f"publish and apply the month: {time.monotonic() - started:.1f} s")
    assert compare(*snapshots(env, tmp_path)) == []
