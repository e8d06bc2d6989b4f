"""The report profile: loading, validation against the registry, and what it controls."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.seed_snapshot import seed_snapshots
from tthc_monitor.reference.registry import Registry, bundled_path
from tthc_monitor.report.layout import build_report
from tthc_monitor.report.model import ReportError, Text
from tthc_monitor.report.profile import (
    BUNDLED_PROFILE,
    ProfileError,
    ReportProfile,
    check_profile,
    load_profile,
)


@pytest.fixture(scope="module")
def profile() -> ReportProfile:
    return load_profile()


def raw_profile() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(bundled_path(BUNDLED_PROFILE).read_text(encoding="utf-8"))
    return data


def test_bundled_profile_fits_the_registry(registry: Registry, profile: ReportProfile) -> None:
    assert check_profile(profile, registry) == []
    assert profile.province == "Quảng Trị"
    assert [a.id for a in profile.appendices] == ["pl1", "pl2", "pl3", "pl4", "pl5", "pl6"]
    assert len(profile.pl5.rows) == 17
    assert len(profile.pl6b.rows) == 9
    assert len(profile.pl6c.rows) == 9
    assert len(profile.pl4.districts) == 10


def test_load_profile_reports_the_file_and_the_problem(tmp_path: Path) -> None:
    bad = tmp_path / "p.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(ProfileError, match=r"p\.json"):
        load_profile(bad)
    data = raw_profile()
    data["pl1"]["order"] = "alphabetical"
    bad.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ProfileError, match="order"):
        load_profile(bad)
    data = raw_profile()
    data["appendices"][0]["tables"] = ["pl1", "pl9"]
    bad.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ProfileError, match="pl9"):
        load_profile(bad)


def test_check_profile_names_unknown_units(registry: Registry, tmp_path: Path) -> None:
    data = raw_profile()
    data["pl2b"]["hide_when_zero"] = ["kho-bac-xx"]
    data["pl6c"]["rows"][0]["unit_id"] = "cn-xx"
    data["pl4"]["districts"][0]["district"] = "nowhere"
    path = tmp_path / "p.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    problems = check_profile(load_profile(path), registry)
    assert problems == [
        "pl2b: unknown unit_id 'kho-bac-xx'",
        "pl6c: unknown unit_id 'cn-xx'",
        "pl4: no unit of the registry is in district 'nowhere'",
    ]


def test_names_and_order_come_from_the_profile(registry: Registry, profile: ReportProfile) -> None:
    month, land = seed_snapshots(registry, profile)
    rows = list(profile.pl5.rows)
    rows[0], rows[1] = rows[1], rows[0].model_copy(update={"name": "Sở TP"})
    pl1 = profile.pl1.model_copy(update={"order": "report_order", "names": {"so-y-te": "SYT"}})
    changed = profile.model_copy(
        update={"pl5": profile.pl5.model_copy(update={"rows": tuple(rows)}), "pl1": pl1}
    )
    report = build_report(month, land, registry, changed)
    names = [
        c.text for r in report.table("pl5").unit_rows for c in r.cells[1:2] if isinstance(c, Text)
    ]
    assert names[:2] == ["Sở Y tế", "Sở TP"]
    names = [
        c.text for r in report.table("pl1").unit_rows for c in r.cells[1:2] if isinstance(c, Text)
    ]
    assert names[:3] == ["Sở Tư pháp", "SYT", "Sở Tài nguyên và Môi trường"]


def test_sectors_missing_from_the_profile_are_appended(
    registry: Registry, profile: ReportProfile
) -> None:
    month, land = seed_snapshots(registry, profile)
    fewer = profile.pl6a.model_copy(update={"sectors": ("Công an", "Y tế")})
    report = build_report(month, land, registry, profile.model_copy(update={"pl6a": fewer}))
    table = report.table("pl6a")
    sectors = [c.text for r in table.unit_rows for c in r.cells[1:2] if isinstance(c, Text)]
    assert sectors[:2] == ["Công an", "Y tế"]
    assert set(sectors) == {
        "Xây dựng",
        "Kế hoạch và Đầu tư",
        "Tài nguyên và Môi trường",
        "Tư pháp",
        "Công thương",
        "Văn hóa thông tin",
        "Y tế",
        "Công an",
    }
    assert table.count(table.total_row, "fee_procedures") == 93


def test_snapshot_without_a_unit_is_refused(registry: Registry, profile: ReportProfile) -> None:
    month, land = seed_snapshots(registry, profile)
    month = copy.deepcopy(month)
    month["units"] = [u for u in month["units"] if u["unit_id"] != "so-y-te"]
    with pytest.raises(ReportError, match="so-y-te"):
        build_report(month, land, registry, profile)
    bad = copy.deepcopy(seed_snapshots(registry, profile)[0])
    bad["units"][0]["received_online"] = "7"
    with pytest.raises(ReportError, match="received_online"):
        build_report(bad, land, registry, profile)
