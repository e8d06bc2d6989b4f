"""The narrative (bao-cao.md): figures from the tables, ratios that name their denominator."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.fixtures.seed_snapshot import seed_snapshots
from tthc_monitor.reference.registry import Registry
from tthc_monitor.report.layout import build_report
from tthc_monitor.report.narrative import build_narrative
from tthc_monitor.report.narrative_blocks import narrative_markdown
from tthc_monitor.report.narrative_figures import ratio_text
from tthc_monitor.report.profile import NarrativeSpec, ReportProfile, load_profile


@pytest.fixture(scope="module")
def profile() -> ReportProfile:
    return load_profile()


@pytest.fixture(scope="module")
def snapshots(registry: Registry, profile: ReportProfile) -> tuple[dict[str, Any], dict[str, Any]]:
    return seed_snapshots(registry, profile)


def narrative(
    month: dict[str, Any], land: dict[str, Any], registry: Registry, profile: ReportProfile
) -> str:
    report = build_report(month, land, registry, profile)
    return narrative_markdown(build_narrative(report, profile.narrative)).replace("**", "")


def with_printed_totals(month: dict[str, Any]) -> dict[str, Any]:
    """The seed snapshot plus the row the seed's Phụ lục 3 total counts but does not print
    (67 = 0 + 20 + 0 + 47 received, 41 = 28 + 9 + 4 resolved), put on Kho bạc Nhà nước, so
    that the totals are the seed's printed 67.918 / 43.179 / 3.827."""
    month = copy.deepcopy(month)
    unit = next(u for u in month["units"] if u["unit_id"] == "kho-bac-nha-nuoc")
    unit.update(
        carried_over=20,
        received_interagency=47,
        resolved_early=28,
        resolved_on_time=9,
        resolved_late=4,
    )
    return month


def test_late_share_is_of_resolved_dossiers(
    registry: Registry, profile: ReportProfile, snapshots: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    month, land = snapshots
    text = narrative(with_printed_totals(month), land, registry, profile)
    assert "có 67.918 hồ sơ nhận giải quyết" in text
    assert "Đã giải quyết 43.179 hồ sơ, gồm 37.194 hồ sơ trước hạn, 2.158 hồ sơ đúng hạn" in text
    assert (
        "Hồ sơ giải quyết trước hạn và đúng hạn (39.352) bằng 91,1% số hồ sơ đã giải quyết" in text
    )
    # The seed's "9,7%" was 3.827 / 39.352; of the 43.179 resolved it is 8,9%.
    assert "3.827 hồ sơ quá hạn, bằng 8,9% số hồ sơ đã giải quyết (43.179)" in text
    assert "9,7%" not in text


def test_land_ratios_name_their_denominators(
    registry: Registry, profile: ReportProfile, snapshots: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    text = narrative(*snapshots, registry, profile)
    assert "Từ ngày 15/12/2021 đến ngày 14/3/2022 (kỳ của Phụ lục 4)" in text
    assert "có 19.416 hồ sơ liên thông nhận giải quyết" in text
    assert "Đã giải quyết 4.895 hồ sơ, bằng 25,2% số hồ sơ nhận giải quyết" in text
    # The seed's "chiếm 220%" was late ÷ on time; the share of resolved is 68,8%.
    assert "hồ sơ quá hạn bằng 68,8% số hồ sơ đất đai đã giải quyết" in text
    assert "(và bằng 220,8% số hồ sơ giải quyết đúng hạn)" in text
    assert "Đang giải quyết 12.588 hồ sơ, trong đó 6.118 hồ sơ đã quá hạn, bằng 48,6%" in text
    assert "Còn 1.933 hồ sơ không thuộc số đã giải quyết hay đang giải quyết" in text
    assert "Địa bàn có nhiều hồ sơ quá hạn nhất: Huyện Vĩnh Linh (1.852 hồ sơ)" in text


def test_reception_digitization_and_fees(
    registry: Registry, profile: ReportProfile, snapshots: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    text = narrative(*snapshots, registry, profile)
    assert (
        "Hồ sơ tiếp nhận trực tuyến (10.867) bằng 16,02% tổng số hồ sơ nhận giải quyết "
        "(cột (7) Phụ lục 1) và bằng 25,5% số hồ sơ mới tiếp nhận trong kỳ" in text
    )
    assert (
        "Đơn vị có tỷ lệ hồ sơ tiếp nhận trực tuyến cao nhất: Sở Công thương (99,20%; "
        "1.487/1.499 hồ sơ); Sở Tài chính (83,17%; 84/101 hồ sơ); UBND huyện Triệu Phong "
        "(77,43%; 2.910/3.758 hồ sơ). Thấp nhất: Sở Tài nguyên và Môi trường (0,00%; "
        "0/21.596 hồ sơ)" in text
    )
    assert "7.178 hồ sơ số hoá đầy đủ, bằng 16,89% số hồ sơ tiếp nhận thuộc diện số hoá" in text
    assert "7.327 trong 39.561 hồ sơ đã giải quyết thuộc diện số hoá kết quả, bằng 18,52%" in text
    assert "Đơn vị có nhiều hồ sơ quá hạn nhất: Sở Tài nguyên và Môi trường (3.385 hồ sơ)" in text
    assert "246 trong 397 TTHC có phí, lệ phí đã triển khai thanh toán trực tuyến (61,9%)" in text
    assert "3 trong 5.982 hồ sơ có thu phí, lệ phí" in text
    assert "6 trong 6.952 hồ sơ có thu phí, lệ phí" in text


def test_ties_at_the_top_are_all_named(
    registry: Registry, profile: ReportProfile, snapshots: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    text = narrative(*snapshots, registry, profile)
    # Six units with at least 100 resolved dossiers resolved all of them on time or early.
    line = next(p for p in text.split("\n") if p.startswith("Đơn vị có tỷ lệ hồ sơ giải quyết"))
    best = line.split("Thấp nhất")[0]
    assert best.count("(100,0%;") == 6
    assert "UBND huyện Hải Lăng (100,0%; 2.936/2.936 hồ sơ)" in best


def test_units_below_the_threshold_are_not_named(
    registry: Registry, profile: ReportProfile, snapshots: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    text = narrative(*snapshots, registry, profile)
    # Bảo hiểm xã hội tỉnh: 72/72 online, below the 100-dossier threshold.
    assert "Bảo hiểm xã hội tỉnh" not in text
    loose = profile.model_copy(update={"narrative": NarrativeSpec(top=3, min_denominator=1)})
    assert "Bảo hiểm xã hội tỉnh (100,00%; 72/72 hồ sơ)" in narrative(*snapshots, registry, loose)


def test_empty_period_renders(
    registry: Registry, profile: ReportProfile, snapshots: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    month, land = copy.deepcopy(snapshots)
    for snapshot in (month, land):
        for unit in snapshot["units"]:
            for key, value in list(unit.items()):
                if isinstance(value, int) and key != "parent_id":
                    unit[key] = 0
                elif isinstance(value, dict):
                    unit[key] = dict.fromkeys(value, 0)
    text = narrative(month, land, registry, profile)
    assert "có 0 hồ sơ nhận giải quyết" in text
    assert "0 hồ sơ quá hạn, bằng – số hồ sơ đã giải quyết (0)" in text
    assert ratio_text(0, 0) == "–"
