"""Another province is data, not code: --units/--procedures/--holidays and TTHC_* settings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.eventkit import raw
from tests.integration.conftest import ROOT, Services

pytestmark = pytest.mark.integration

UNITS = """unit_id,name,parent_id,level,kind,district,report_group,report_order
so-tu-phap,Sở Tư pháp,,province,department,,I,1
ubnd-a,UBND huyện A,,district,district_committee,huyen-a,III,2
mot-cua-a,Bộ phận Một cửa huyện A,ubnd-a,district,district_one_stop,huyen-a,,0
"""
PROCEDURES = (
    (
        "procedure_id,name,sector,unit_id,processing_days,has_fee,online_payment,"
        "digitize_components,digitize_results\n"
    )
    + """tp.1,Chứng thực bản sao,Chứng thực,so-tu-phap,1,true,false,true,false
a.1,Đăng ký hộ tịch,Hộ tịch,mot-cua-a,0,false,false,false,false
"""
)
# 2022-03-18 (Friday) becomes a day off in this province's table.
HOLIDAYS = "date,kind,note\n2022-03-18,off,ngày nghỉ của tỉnh (thử nghiệm)\n"


def test_replay_with_other_reference_files(tmp_path: Path, services: Services) -> None:
    (tmp_path / "units.csv").write_text(UNITS, encoding="utf-8")
    (tmp_path / "procedures.csv").write_text(PROCEDURES, encoding="utf-8")
    (tmp_path / "holidays.csv").write_text(HOLIDAYS, encoding="utf-8")
    events = [
        # Received Thursday 17/3 with 1 working day: due Monday 21/3, since 18/3 is off.
        raw(
            "received",
            "P1",
            "2022-03-17 09:00",
            "so-tu-phap",
            procedure_id="tp.1",
            channel="online",
        ),
        raw("resolved", "P1", "2022-03-21 16:00", "so-tu-phap"),
        raw(
            "received", "P2", "2022-03-17 09:00", "mot-cua-a", procedure_id="a.1", channel="direct"
        ),
        raw("resolved", "P2", "2022-03-17 18:00", "mot-cua-a"),
    ]
    source = tmp_path / "events.jsonl"
    source.write_text("\n".join(json.dumps(e, ensure_ascii=False) for e in events) + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TTHC_")}
    env.update(
        PYTHONPATH=str(ROOT),
        TTHC_REDIS_URL=services.redis_url,
        TTHC_NAMESPACE=f"prov{os.getpid()}",
        TTHC_HOLIDAYS=str(tmp_path / "holidays.csv"),
    )
    out = tmp_path / "snapshot.json"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "tthc_monitor.cli.main",
            "replay",
            str(source),
            "--units",
            str(tmp_path / "units.csv"),
            "--procedures",
            str(tmp_path / "procedures.csv"),
            "--period",
            "2022-04",
            "--json",
            str(out),
        ],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=120,
    )
    document = json.loads(out.read_text())
    units = {u["unit_id"]: u for u in document["units"]}
    assert list(units) == ["so-tu-phap", "ubnd-a", "mot-cua-a"]
    assert units["so-tu-phap"]["resolved_on_time"] == 1  # would be late without the day off
    assert units["ubnd-a"]["resolved_late"] == 1  # 0 days: due 17:00 the same day
    assert units["ubnd-a"]["received_direct"] == 1
    assert units["so-tu-phap"]["fees"] == {
        "dossiers": 1,
        "paid_national_portal": 0,
        "recorded_one_stop": 0,
        "procedures": 1,
        "online_payment_procedures": 0,
    }
    assert units["so-tu-phap"]["digitization"]["received"] == 1
    assert units["ubnd-a"]["digitization"]["received"] == 0


def test_bad_reference_file_is_reported(tmp_path: Path) -> None:
    (tmp_path / "units.csv").write_text(UNITS.replace("ubnd-a,district,", "nowhere,district,"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TTHC_")}
    env["PYTHONPATH"] = str(ROOT)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tthc_monitor.cli.main",
            "replay",
            "/dev/null",
            "--units",
            str(tmp_path / "units.csv"),
        ],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "units.csv" in result.stderr and "parent_id" in result.stderr
    assert "Traceback" not in result.stderr
