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
from tthc_monitor.core.freeze import AUTO_MONTHS
from tthc_monitor.simulate.quangtri import load_targets
from tthc_monitor.store.snapshots import SnapshotKeys

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

# (appendix, unit, field) -> the value produced instead of the printed one.
RECONCILED = {
    ("PL2a", "so-lao-dong-thuong-binh-va-xa-hoi", "received"): 8,
    ("PL2b", "ubnd-dakrong", "resolved"): 3133,
    ("PL2b", "ubnd-vinh-linh", "resolved"): 3606,
    ("PL4", "xa-vinh-linh", "in_progress_overdue"): 727,
}
# Appendix cells (seed CSV notation) that differ from the seed because of the four
# reconciled cells above, beyond the layout's own SEED_EXCEPTIONS
# (tests/unit/test_report_seed.py: totals and rates the seed computes inconsistently).
Cell = tuple[str, str, str, str, str]  # csv, row, column, printed, produced
FROM_RECONCILED: dict[str, set[Cell]] = {
    # Sở LĐTB&XH: 8 received, all digitized: rate 100%, first in PL2a's order.
    "PL2a": {
        ("appendix2a_component_digitization.csv", "Sở Công thương", "stt", "3", "4"),
        ("appendix2a_component_digitization.csv", "Sở Giao thông Vận tải", "stt", "7", "8"),
        ("appendix2a_component_digitization.csv", "Sở Giáo dục và Đào tạo", "stt", "9", "10"),
        ("appendix2a_component_digitization.csv", "Sở Khoa học và Công nghệ", "stt", "2", "3"),
        (
            "appendix2a_component_digitization.csv",
            "Sở Lao động Thương binh và Xã hội",
            "full_rate_pct",
            "88.89",
            "100.00",
        ),
        (
            "appendix2a_component_digitization.csv",
            "Sở Lao động Thương binh và Xã hội",
            "full_rate_pct_printed",
            "88.89",
            "100",
        ),
        (
            "appendix2a_component_digitization.csv",
            "Sở Lao động Thương binh và Xã hội",
            "not_digitized",
            "1",
            "0",
        ),
        (
            "appendix2a_component_digitization.csv",
            "Sở Lao động Thương binh và Xã hội",
            "received",
            "9",
            "8",
        ),
        (
            "appendix2a_component_digitization.csv",
            "Sở Lao động Thương binh và Xã hội",
            "stt",
            "11",
            "1",
        ),
        ("appendix2a_component_digitization.csv", "Sở Ngoại vụ", "stt", "4", "5"),
        ("appendix2a_component_digitization.csv", "Sở Nội vụ", "stt", "10", "11"),
        ("appendix2a_component_digitization.csv", "Sở Thông tin Truyền thông", "stt", "5", "6"),
        ("appendix2a_component_digitization.csv", "Sở Tài chính", "stt", "1", "2"),
        ("appendix2a_component_digitization.csv", "Sở Tư pháp", "stt", "6", "7"),
        (
            "appendix2a_component_digitization.csv",
            "Sở Văn hóa, Thể thao và Du lịch",
            "stt",
            "8",
            "9",
        ),
        ("appendix2a_component_digitization.csv", "total", "not_digitized", "35105", "35104"),
        ("appendix2a_component_digitization.csv", "total", "received", "42494", "42493"),
    },
    # Owned dossiers resolved in Đakrông and Vĩnh Linh: derived cells and totals.
    "PL2b": {
        (
            "appendix2b_result_digitization.csv",
            "UBND huyện Vĩnh Linh",
            "not_digitized",
            "3685",
            "3481",
        ),
        ("appendix2b_result_digitization.csv", "UBND huyện Vĩnh Linh", "rate_pct", "3.28", "3.47"),
        (
            "appendix2b_result_digitization.csv",
            "UBND huyện Vĩnh Linh",
            "rate_pct_printed",
            "3.28",
            "3,47",
        ),
        ("appendix2b_result_digitization.csv", "UBND huyện Vĩnh Linh", "resolved", "3810", "3606"),
        (
            "appendix2b_result_digitization.csv",
            "UBND huyện Đakrông",
            "not_digitized",
            "3131",
            "3124",
        ),
        ("appendix2b_result_digitization.csv", "UBND huyện Đakrông", "resolved", "3140", "3133"),
        ("appendix2b_result_digitization.csv", "total", "not_digitized", "32237", "32023"),
        ("appendix2b_result_digitization.csv", "total", "rate_pct", "18.51", "18.62"),
        ("appendix2b_result_digitization.csv", "total", "rate_pct_printed", "18.51", "18,62"),
        ("appendix2b_result_digitization.csv", "total", "resolved", "39561", "39350"),
    },
    # Vĩnh Linh's commune one-stop: 406 fewer overdue dossiers in progress on 14/3.
    "PL4": {
        (
            "appendix4_land_interagency.csv",
            "Huyện Vĩnh Linh / Một cửa xã/thị trấn",
            "in_progress",
            "1606",
            "1200",
        ),
        (
            "appendix4_land_interagency.csv",
            "Huyện Vĩnh Linh / Một cửa xã/thị trấn",
            "in_progress_overdue",
            "1133",
            "727",
        ),
        ("appendix4_land_interagency.csv", "Huyện Vĩnh Linh / Tổng", "in_progress", "4566", "4160"),
        (
            "appendix4_land_interagency.csv",
            "Huyện Vĩnh Linh / Tổng",
            "in_progress_overdue",
            "3176",
            "2770",
        ),
        ("appendix4_land_interagency.csv", "total", "in_progress", "12588", "12182"),
        ("appendix4_land_interagency.csv", "total", "in_progress_overdue", "6118", "5712"),
    },
}
# Layout exceptions that a seed-exact PL2b total row would show but these data do not.
SUPERSEDED: set[Cell] = {
    ("appendix2b_result_digitization.csv", "total", "not_digitized", "32237", "32234"),
    ("appendix2b_result_digitization.csv", "total", "rate_pct", "18.51", "18.52"),
    ("appendix2b_result_digitization.csv", "total", "rate_pct_printed", "18.51", "18,52"),
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


def appendix_differences(april: dict[str, Any], land: dict[str, Any]) -> set[Cell]:
    """Every appendix cell compared with the seed CSVs: the unexpected differences."""
    from tests.unit.test_report_seed import SEED_EXCEPTIONS, mismatches
    from tthc_monitor.reference.registry import load_registry
    from tthc_monitor.report.layout import build_report
    from tthc_monitor.report.profile import load_profile

    report = build_report(april, land, load_registry(), load_profile())
    expected = {(e.csv, e.row, e.column, e.printed, e.computed) for e in SEED_EXCEPTIONS}
    expected = (expected - SUPERSEDED).union(*FROM_RECONCILED.values())
    found = set(mismatches(report))
    missing = {("missing", *cell[1:]) for cell in expected - found}
    return (found - expected) | missing


def test_month_through_replay(env: Env, month: Path, tmp_path: Path) -> None:
    started = time.monotonic()
    env.cli("replay", str(month), timeout=600)
    print(f"replay of the month: {time.monotonic() - started:.1f} s")
    april, land = snapshots(env, tmp_path)
    assert compare(april, land) == []
    assert appendix_differences(april, land) == set()


def test_month_through_kafka_and_the_worker(env: Env, month: Path, tmp_path: Path) -> None:
    # The worker freezes ended periods on its own (every second here): check_report waits
    # for it, so no automatic version lands between its two exports.
    env.extra["TTHC_SNAPSHOT_CHECK_SECONDS"] = "1"
    env.start_worker(tmp_path)
    started = time.monotonic()
    env.cli("publish", str(month), "--wait", "--timeout", "840", timeout=900)
    print(f"publish and apply the month: {time.monotonic() - started:.1f} s")
    april, land = snapshots(env, tmp_path)
    assert compare(april, land) == []
    assert appendix_differences(april, land) == set()
    check_report(env, tmp_path)


def wait_automatic_freezes(env: Env, periods: list[str], timeout: float = 120) -> None:
    """Until the worker has frozen each of ``periods`` that holds counters (every
    ``AUTO_MONTHS`` version): its freeze is a new version, which ``report`` exports."""
    client = env.redis()
    keys = SnapshotKeys(env.namespace)
    wanted = [f"auto:{m}" for m in AUTO_MONTHS]
    deadline = time.monotonic() + timeout
    while True:
        stored = client.smembers(f"{env.namespace}:periods")
        missing = [
            p for p in periods if p in stored and None in client.hmget(keys.versions(p), wanted)
        ]
        if not missing:
            return
        assert time.monotonic() < deadline, f"no automatic freeze of {missing}\n{env.tail()}"
        time.sleep(0.5)


def check_report(env: Env, tmp_path: Path) -> None:
    """Freeze, export twice: the files are the frozen figures, byte for byte the same."""
    from openpyxl import load_workbook

    started = time.monotonic()
    wait_automatic_freezes(env, ["2022-03", "2022-04"])
    env.cli("snapshot", "--period", "2022-04", "--freeze")
    env.cli("snapshot", "--period", "2022-03", "--months", "3", "--freeze")
    first, second = tmp_path / "report-1", tmp_path / "report-2"
    env.cli("report", "--period", "2022-04", "--out", str(first))
    print(f"freeze and export: {time.monotonic() - started:.1f} s")
    env.cli("report", "--period", "2022-04", "--out", str(second))
    names = sorted(p.name for p in first.iterdir())
    assert names == sorted(p.name for p in second.iterdir())
    assert {"appendices.xlsx", "appendices.md", "bao-cao.md", "bao-cao.docx"} <= set(names)
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    workbook = load_workbook(first / "appendices.xlsx")
    assert workbook.sheetnames == [
        "Phụ lục 1",
        "Phụ lục 2",
        "Phụ lục 3",
        "Phụ lục 4",
        "Phụ lục 05",
        "Phụ lục 06",
    ]
    text = (first / "bao-cao.md").read_text(encoding="utf-8")
    assert "67.851" in text or "67.918" in text  # received in the month, Vietnamese format


def _fold_snapshot(lines: list[str], units: Path, period: str) -> dict[str, dict[str, Any]]:
    """The period's snapshot by the pure rules (no store), by unit id."""
    from collections import Counter, defaultdict
    from datetime import datetime

    from tthc_monitor.core.counters import contribution, split_key
    from tthc_monitor.core.engine import Engine
    from tthc_monitor.core.periods import PeriodScheme
    from tthc_monitor.core.snapshot import build_snapshot
    from tthc_monitor.ingest import Rejection, decode
    from tthc_monitor.reference.calendar_files import load_calendar
    from tthc_monitor.reference.registry import load_registry

    registry = load_registry(units)
    engine = Engine(registry, load_calendar(), PeriodScheme(15))
    events: dict[str, list[Any]] = defaultdict(list)
    for line in lines:
        event = decode(line, engine)
        assert not isinstance(event, Rejection), (line, event)
        events[event.dossier_id].append(event)
    counters: dict[str, Counter[str]] = defaultdict(Counter)
    for dossier_id, dossier_events in events.items():
        for key, value in contribution(
            engine.timeline(dossier_id, dossier_events), engine.rules
        ).items():
            name, unit, metric = split_key(key)
            if name[0].isdigit():
                counters[name][f"{unit}|{metric}"] += value
    as_of = datetime.fromisoformat("2027-01-01T00:00:00+07:00")
    snapshot = build_snapshot(period, engine.periods, registry, counters, as_of)
    return {u["unit_id"]: u for u in snapshot["units"]}


FLOWS = (
    "received_online",
    "received_direct",
    "received_interagency",
    "resolved_early",
    "resolved_on_time",
    "resolved_late",
    "withdrawn",
)


def test_a_stream_from_2022_to_2026_with_both_registries(
    env: Env, month: Path, tmp_path: Path
) -> None:
    """One replay of April 2022, the month across the 1 July 2025 change and a January
    2026 tail, with the versioned registry: each period is counted with its own units."""
    later = tmp_path / "quangtri-2025-07.jsonl"
    env.cli("simulate", "quangtri-2025-07", "--out", str(later))
    units = later.with_suffix(".units")
    tail = [
        json.dumps(
            {
                "schema_version": 1,
                "event_id": f"T26-{n}-{kind}",
                "type": kind,
                "dossier_id": f"T26-{n}",
                "occurred_at": when,
                "unit_id": unit,
                **extra,
            },
            ensure_ascii=False,
        )
        for n, unit in enumerate(("xa-19741", "phuong-18859", "dac-khu-19742"))
        for kind, when, extra in (
            (
                "received",
                "2026-01-05T09:00:00+07:00",
                {"procedure_id": "qt.cap-xa.015", "channel": "online"},
            ),
            ("resolved", "2026-01-05T15:00:00+07:00", {}),
        )
    ]
    stream = tmp_path / "2022-2026.jsonl"
    later_lines = later.read_text(encoding="utf-8").splitlines()
    stream.write_text(
        month.read_text(encoding="utf-8") + "\n".join([*later_lines, *tail]) + "\n",
        encoding="utf-8",
    )
    started = time.monotonic()
    env.cli("replay", str(stream), "--units", str(units), timeout=900)
    print(f"replay of 2022-2026: {time.monotonic() - started:.1f} s")

    # April 2022 is still the seed's month, counted with the 2022 units.
    april, land = snapshots(env, tmp_path)
    assert compare(april, land) == []
    assert not any(u["unit_id"].startswith(("phuong-", "dac-khu-")) for u in april["units"])

    def replayed(period: str) -> dict[str, dict[str, Any]]:
        out = tmp_path / f"{period}.json"
        env.cli("snapshot", "--period", period, "--units", str(units), "--json", str(out))
        return {u["unit_id"]: u for u in json.loads(out.read_text())["units"]}

    july, august, january = replayed("2025-07"), replayed("2025-08"), replayed("2026-01")
    # The month's flows are the 2025 stream's alone; what April 2022 left open is
    # carried over at the 2022 units and handed over to the continuing departments.
    alone = _fold_snapshot(later_lines, units, "2025-07")
    for unit_id, row in alone.items():
        assert {f: july[unit_id][f] for f in FLOWS} == {f: row[f] for f in FLOWS}, unit_id
    assert (
        sum(r["handed_over_out"] for r in july.values())
        == sum(r["handed_over_in"] for r in july.values())
        > sum(r["handed_over_out"] for r in alone.values())
    )
    for unit_id, row in july.items():
        if row["parent_id"] is None:
            arrived = sum(row[f] for f in FLOWS[:3]) + row["handed_over_in"]
            left = sum(row[f] for f in FLOWS[3:]) + row["handed_over_out"]
            assert row["carried_over"] + arrived - left == august.get(unit_id, {}).get(
                "carried_over", 0
            ), unit_id
    assert [
        january[u]["resolved_early"] for u in ("xa-19741", "phuong-18859", "dac-khu-19742")
    ] == [1, 1, 1]
