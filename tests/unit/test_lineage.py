"""The old→new commune table: a reading aid that covers every 2025 unit exactly."""

from __future__ import annotations

from datetime import date

from tthc_monitor.reference.bundled import BUNDLED_UNIT_VERSIONS, bundled_path
from tthc_monitor.reference.lineage import load_lineage
from tthc_monitor.reference.registry import load_registry


def test_every_2025_unit_covers_former_communes_and_each_former_is_covered_once() -> None:
    registry = load_registry(bundled_path(BUNDLED_UNIT_VERSIONS))
    lineage = load_lineage()
    units = [u for u in registry.top_level() if registry.in_force(u, date(2025, 7, 1))]
    assert len(units) == 78
    rows = lineage.rows(registry, units)
    assert all(lineage.of_unit(registry, u) for u in units)
    codes = [r["former_code"] for r in rows]
    assert len(codes) == len(set(codes)) == 265  # 264 communes and the Cồn Cỏ district
    dong_hoi = {f.name for f in lineage.of_unit(registry, "phuong-18880")}
    assert {"Phường Đồng Hải", "Phường Đồng Phú"} <= dong_hoi


def test_2022_units_have_no_lineage_rows() -> None:
    registry = load_registry(bundled_path(BUNDLED_UNIT_VERSIONS))
    assert load_lineage().of_unit(registry, "ubnd-cam-lo") == ()
