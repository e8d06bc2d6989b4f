"""The bundled Quảng Trị registry and catalog against the seed, and the loader's validation."""

from __future__ import annotations

import csv
import re
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from tests.fixtures import SEED
from tthc_monitor.reference import (
    PROCEDURE_COLUMNS,
    UNIT_COLUMNS,
    UNIT_VERSION_COLUMNS,
    ReferenceDataError,
    Registry,
    bundled_path,
    load_procedures,
    load_registry,
    load_units,
)

# The April 2022 report's period: its rows are the 2022 units (registry versions).
APRIL_2022 = (date(2022, 3, 15), date(2022, 4, 15))

# Spelling variants of the seed (CHECKS.md, "Spelling variants") -> the name as PL1 prints it.
NAME_ALIASES = {"UBND huyện đảo Côn Cỏ": "UBND huyện đảo Cồn Cỏ"}

# Phụ lục 05 prints abbreviations; the unit each row stands for.
PL05_UNITS = {
    "Sở Tư pháp": "so-tu-phap",
    "Sở Y tế": "so-y-te",
    "Sở TN&MT": "so-tai-nguyen-va-moi-truong",
    "Sở LĐTB&XH": "so-lao-dong-thuong-binh-va-xa-hoi",
    "Sở Nội vụ": "so-noi-vu",
    "Sở Tài chính": "so-tai-chinh",
    "Sở KH&ĐT": "so-ke-hoach-va-dau-tu",
    "Sở KH&CN": "so-khoa-hoc-va-cong-nghe",
    "Sở Xây dựng": "so-xay-dung",
    "Sở GD&ĐT": "so-giao-duc-va-dao-tao",
    "Sở NN&PTNT": "so-nong-nghiep-va-ptnt",
    "Sở GTVT": "so-giao-thong-van-tai",
    "Sở Công thương": "so-cong-thuong",
    "Ban QLKKT": "ban-quan-ly-khu-kinh-te",
    "Sở VH,TT&DL": "so-van-hoa-the-thao-va-du-lich",
    "Sở TT&TT": "so-thong-tin-truyen-thong",
    "Công an tỉnh": "cong-an-tinh",
}

DISTRICTS = (
    "dong-ha",
    "quang-tri",
    "vinh-linh",
    "huong-hoa",
    "gio-linh",
    "dakrong",
    "cam-lo",
    "trieu-phong",
    "hai-lang",
    "con-co",
)
TNMT = "so-tai-nguyen-va-moi-truong"
GROUPS = ("I", "II", "III")


@pytest.fixture(scope="module")
def registry() -> Registry:
    return load_registry()


def seed_rows(name: str) -> list[dict[str, str]]:
    with (SEED / name).open(encoding="utf-8", newline="") as handle:
        return [row for row in csv.DictReader(handle) if row["stt"] != "total"]


def by_name(registry: Registry) -> dict[str, str]:
    names = Counter(unit.name for unit in registry.units.values())
    assert not [n for n, c in names.items() if c > 1], "unit names must be unique"
    return {unit.name: unit.unit_id for unit in registry.units.values()}


def unit_id_of(registry: Registry, printed: str) -> str:
    return by_name(registry)[NAME_ALIASES.get(printed, printed)]


# --------------------------------------------------------------------------- bundled data


def test_bundled_files_load_with_exact_headers(registry: Registry) -> None:
    for name, columns in (
        ("quangtri/units/quangtri-2022.csv", UNIT_COLUMNS + UNIT_VERSION_COLUMNS),
        ("quangtri/procedures.csv", PROCEDURE_COLUMNS),
    ):
        path = bundled_path(name)
        first = path.read_bytes().split(b"\n", 1)[0]
        assert first == ",".join(columns).encode("ascii")
    assert len(registry.units) >= 33 + 9 + 3 * 10 + 2
    assert len(registry.procedures) > 400
    slug = re.compile(r"[a-z0-9][a-z0-9._-]*")
    assert all(slug.fullmatch(unit_id) for unit_id in registry.units)


def test_procedures_sorted_by_unit_then_id(registry: Registry) -> None:
    keys = [(p.unit_id, p.procedure_id) for p in registry.procedures.values()]
    assert keys == sorted(keys)


def test_event_contract_example_ids_exist(registry: Registry) -> None:
    for unit_id in ("so-tu-phap", "xa-cam-lo", "cn-vpdkdd-cam-lo", "chi-cuc-thue-cam-lo"):
        registry.unit(unit_id)
    example = registry.procedure("1.004227")
    assert example.sector == "Đất đai"
    assert example in registry.procedures_available("xa-cam-lo")


@pytest.mark.parametrize(
    "appendix",
    [
        "appendix1_online_reception.csv",
        "appendix2a_component_digitization.csv",
        "appendix2b_result_digitization.csv",
        "appendix3_resolution.csv",
    ],
)
def test_every_seed_unit_name_is_in_the_registry(registry: Registry, appendix: str) -> None:
    names = by_name(registry)
    missing = [
        row["unit_name"]
        for row in seed_rows(appendix)
        if NAME_ALIASES.get(row["unit_name"], row["unit_name"]) not in names
    ]
    assert missing == []


def test_top_level_units_are_the_33_reported_rows(registry: Registry) -> None:
    pl1 = seed_rows("appendix1_online_reception.csv")
    top = registry.top_level(APRIL_2022)
    assert len(top) == 33
    assert {unit_id_of(registry, row["unit_name"]) for row in pl1} == set(top)
    assert [registry.unit(u).report_order for u in top] == list(range(1, 34))
    assert registry.unit("cap-huyen").report_group == ""
    assert "cap-huyen" not in top and "cap-xa" not in top


def test_report_groups_follow_pl2_and_pl3(registry: Registry) -> None:
    for appendix in ("appendix2a_component_digitization.csv", "appendix3_resolution.csv"):
        for row in seed_rows(appendix):
            assert (
                registry.unit(unit_id_of(registry, row["unit_name"])).report_group == row["group"]
            )
    # Phụ lục 1 agrees except for Công an tỉnh, printed under I there (II in PL2/PL3).
    for row in seed_rows("appendix1_online_reception.csv"):
        group = registry.unit(unit_id_of(registry, row["unit_name"])).report_group
        expected = "II" if row["unit_name"] == "Công an tỉnh" else row["group"]
        assert group == expected


def test_report_order_is_pl3_row_order(registry: Registry) -> None:
    pl3 = [unit_id_of(registry, r["unit_name"]) for r in seed_rows("appendix3_resolution.csv")]
    assert [u for u in registry.top_level() if u in set(pl3)] == pl3
    pl05 = [PL05_UNITS[r["unit_name"]] for r in seed_rows("appendix5_fees_departments.csv")]
    assert [u for u in registry.top_level() if u in set(pl05)] == pl05


@pytest.mark.parametrize(
    ("appendix", "rate"),
    [
        ("appendix1_online_reception.csv", "online_rate_pct"),
        ("appendix2a_component_digitization.csv", "full_rate_pct"),
        ("appendix2b_result_digitization.csv", "rate_pct"),
    ],
)
def test_rate_tables_are_report_order_stably_sorted_by_rate(
    registry: Registry, appendix: str, rate: str
) -> None:
    rows = seed_rows(appendix)
    printed = [unit_id_of(registry, r["unit_name"]) for r in rows]
    group = {unit_id_of(registry, r["unit_name"]): r["group"] for r in rows}
    value = {unit_id_of(registry, r["unit_name"]): float(r[rate]) for r in rows}
    expected = sorted(
        printed,
        key=lambda u: (GROUPS.index(group[u]), -value[u], registry.unit(u).report_order),
    )
    assert printed == expected


def test_pl05_fee_procedure_counts(registry: Registry) -> None:
    rows = seed_rows("appendix5_fees_departments.csv")
    assert set(PL05_UNITS) == {row["unit_name"] for row in rows}
    for row in rows:
        unit_id = PL05_UNITS[row["unit_name"]]
        procs = [p for u in registry.subtree(unit_id) for p in registry.procedures_of(u)]
        fee = [p for p in procs if p.has_fee]
        assert len(fee) == int(row["fee_procedures"]), row["unit_name"]
        assert sum(p.online_payment for p in fee) == int(row["online_payment_procedures"])
    # Provincial units PL05 does not print have no fee-bearing procedures.
    for unit_id in registry.top_level():
        unit = registry.unit(unit_id)
        if unit.level == "province" and unit_id not in PL05_UNITS.values():
            assert not any(p.has_fee for p in registry.procedures_of(unit_id)), unit_id


def test_online_payment_only_with_fee(registry: Registry) -> None:
    assert not [
        p.procedure_id for p in registry.procedures.values() if p.online_payment and not p.has_fee
    ]


def test_pl06_district_fee_procedure_counts_by_sector(registry: Registry) -> None:
    rows = seed_rows("appendix6a_district_fee_procedures_by_sector.csv")
    fee = [p for p in registry.procedures_of("cap-huyen") if p.has_fee]
    by_sector = Counter(p.sector for p in fee)
    online = Counter(p.sector for p in fee if p.online_payment)
    assert set(by_sector) == {row["sector"] for row in rows}
    for row in rows:
        assert by_sector[row["sector"]] == int(row["fee_procedures"]), row["sector"]
        assert online[row["sector"]] == int(row["online_payment_procedures"]), row["sector"]


def test_land_branches(registry: Registry) -> None:
    branches = [u for u in registry.units.values() if u.kind == "land_branch"]
    assert len(branches) == 9
    for unit in branches:
        assert unit.parent_id == TNMT
        assert unit.level == "district"
        assert unit.district in DISTRICTS
    assert len({u.district for u in branches}) == 9
    printed = {r["unit_name"] for r in seed_rows("appendix6c_land_obligation_payments.csv")}
    assert {u.name for u in branches} == printed


def test_kinds_used_by_the_land_appendix(registry: Registry) -> None:
    assert registry.unit(TNMT).kind == "natural_resources_department"
    assert registry.unit("so-xay-dung").kind == "construction_department"
    assert registry.unit("cuc-thue").kind == "tax"
    assert registry.unit("cong-an-tinh").kind == "police"
    assert registry.unit("bao-hiem-xa-hoi-tinh").kind == "social_insurance"
    assert registry.unit("kho-bac-nha-nuoc").kind == "treasury"


@pytest.mark.parametrize("district", DISTRICTS)
def test_each_district_has_its_units(registry: Registry, district: str) -> None:
    units = [u for u in registry.units.values() if u.district == district]
    kinds = Counter(u.kind for u in units)
    assert kinds["district_committee"] == 1
    assert kinds["district_one_stop"] == 1
    assert kinds["commune_one_stop"] == 1
    assert kinds["tax"] == 1
    committee = next(u for u in units if u.kind == "district_committee")
    assert committee.parent_id is None and committee.report_group == "III"
    for unit in units:
        if unit.kind in ("district_one_stop", "commune_one_stop"):
            assert unit.parent_id == committee.unit_id
        if unit.kind == "tax":
            assert unit.parent_id == "cuc-thue" and unit.level == "district"
    assert next(u for u in units if u.kind == "commune_one_stop").level == "commune"


def test_provincial_units_have_no_district(registry: Registry) -> None:
    for unit in registry.units.values():
        if unit.level == "province":
            assert unit.district is None
            assert unit.parent_id is None


def test_catalog_scope_units(registry: Registry) -> None:
    for unit_id, level in (("cap-huyen", "district"), ("cap-xa", "commune")):
        unit = registry.unit(unit_id)
        assert (unit.kind, unit.level, unit.parent_id) == ("procedure_scope", level, None)
        assert (unit.report_group, unit.report_order, unit.district) == ("", 0, None)
        assert len(registry.procedures_of(unit_id)) >= 10


def test_every_receiving_unit_has_procedures(registry: Registry) -> None:
    for row in seed_rows("appendix1_online_reception.csv"):
        if int(row["total"]) == 0:
            continue
        unit_id = unit_id_of(registry, row["unit_name"])
        if registry.unit(unit_id).kind == "district_committee":
            assert len(registry.procedures_available(unit_id)) >= 3, unit_id
        else:
            assert len(registry.procedures_of(unit_id)) >= 3, unit_id


def test_land_sector_and_processing_days(registry: Registry) -> None:
    for unit_id in (TNMT, "cap-huyen", "cap-xa"):
        land = [p for p in registry.procedures_of(unit_id) if p.sector == "Đất đai"]
        assert len(land) >= 3, unit_id
    assert any(p.has_fee for p in registry.procedures_of(TNMT) if p.sector == "Đất đai")
    for proc in registry.procedures.values():
        assert 0 <= proc.processing_days <= 30
        if proc.sector == "Đất đai":
            assert 10 <= proc.processing_days <= 30


def test_digitization_flags_mostly_true(registry: Registry) -> None:
    procs = list(registry.procedures.values())
    components = sum(p.digitize_components for p in procs)
    results = sum(p.digitize_results for p in procs)
    assert len(procs) * 0.7 < components < len(procs)
    assert len(procs) * 0.7 < results < len(procs)
    # Cục Thuế prints 0 received and 0 resolved in both parts of Phụ lục 2.
    assert not any(
        p.digitize_components or p.digitize_results for p in registry.procedures_of("cuc-thue")
    )


# --------------------------------------------------------------------------- queries


def test_tree_queries(registry: Registry) -> None:
    assert registry.ancestors("xa-cam-lo") == ("ubnd-cam-lo",)
    assert registry.ancestors("so-tu-phap") == ()
    assert registry.children("ubnd-cam-lo") == ("mot-cua-cam-lo", "xa-cam-lo")
    subtree = registry.subtree(TNMT)
    assert subtree[0] == TNMT and len(subtree) == 10
    assert set(registry.subtree("cuc-thue")) == {"cuc-thue"} | {
        f"chi-cuc-thue-{d}" for d in DISTRICTS
    }
    assert registry.top_level(APRIL_2022)[0] == "so-tu-phap"
    assert registry.top_level(APRIL_2022)[-1] == "ubnd-con-co"
    # From 1 July 2025 the report rows are the 78 commune-level units (registry versions).
    assert len(registry.top_level((date(2025, 7, 15), date(2025, 8, 15)))) == 78


def test_unknown_ids_raise_clear_key_errors(registry: Registry) -> None:
    with pytest.raises(KeyError, match="unknown unit_id 'nope'"):
        registry.unit("nope")
    with pytest.raises(KeyError, match="unknown procedure_id 'nope'"):
        registry.procedure("nope")
    for query in (registry.children, registry.ancestors, registry.subtree, registry.procedures_of):
        with pytest.raises(KeyError, match="nope"):
            query("nope")


def test_registry_is_read_only(registry: Registry) -> None:
    with pytest.raises(TypeError):
        registry.units["x"] = registry.unit("so-tu-phap")  # type: ignore[index]


def test_registry_constructor_checks_consistency() -> None:
    units = load_units(bundled_path("quangtri/units/quangtri-2022.csv"))
    procedures = load_procedures(bundled_path("quangtri/procedures.csv"))
    broken = dict(units)
    broken["x"] = units["so-tu-phap"].model_copy(update={"unit_id": "x", "parent_id": "zz"})
    with pytest.raises(ValueError, match="unknown parent_id 'zz'"):
        Registry(units=broken, procedures=procedures)
    without_cap_xa = {k: v for k, v in units.items() if k != "cap-xa"}
    with pytest.raises(ValueError, match="unknown unit_id 'cap-xa'"):
        Registry(units=without_cap_xa, procedures=procedures)


# --------------------------------------------------------------------------- loader errors

UNITS_HEADER = ",".join(UNIT_COLUMNS)
PROCS_HEADER = ",".join(PROCEDURE_COLUMNS)
GOOD_UNITS = [
    "a,Đơn vị A,,province,department,,I,1",
    "b,Đơn vị B,a,district,land_branch,d1,,0",
]
GOOD_PROC = "p1,Thủ tục 1,Tư pháp,a,5,true,false,true,true"


def write(tmp_path: Path, name: str, header: str, rows: list[str]) -> Path:
    path = tmp_path / name
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def load_error(tmp_path: Path, units: list[str], procs: list[str]) -> ReferenceDataError:
    units_path = write(tmp_path, "units.csv", UNITS_HEADER, units)
    procs_path = write(tmp_path, "procedures.csv", PROCS_HEADER, procs)
    with pytest.raises(ReferenceDataError) as info:
        load_registry(units_path, procs_path)
    return info.value


def test_small_files_load_and_empty_cells_are_none(tmp_path: Path) -> None:
    units_path = write(tmp_path, "u.csv", UNITS_HEADER, GOOD_UNITS)
    procs_path = write(tmp_path, "p.csv", PROCS_HEADER, [GOOD_PROC])
    registry = load_registry(units_path, procs_path)
    a = registry.unit("a")
    assert a.parent_id is None and a.district is None
    b = registry.unit("b")
    assert (b.parent_id, b.district, b.report_group, b.report_order) == ("a", "d1", "", 0)
    proc = registry.procedure("p1")
    assert (proc.has_fee, proc.online_payment, proc.processing_days) == (True, False, 5)
    assert registry.subtree("a") == ("a", "b")
    assert registry.procedures_available("b") == (proc,)


def test_wrong_header(tmp_path: Path) -> None:
    path = write(tmp_path, "units.csv", "unit_id,name,parent,level", [])
    with pytest.raises(ReferenceDataError) as info:
        load_units(path)
    (issue,) = info.value.issues
    assert (issue.path, issue.line, issue.field) == (str(path), 1, "header")
    assert f"{path}:1: field 'header'" in str(info.value)


def test_duplicate_unit_id(tmp_path: Path) -> None:
    error = load_error(tmp_path, [*GOOD_UNITS, "a,Đơn vị A lặp,,province,department,,I,2"], [])
    (issue,) = error.issues
    assert (issue.line, issue.field) == (4, "unit_id")
    assert issue.path.endswith("units.csv")
    assert "duplicate unit_id 'a' (first on line 2)" in issue.message


def test_unknown_parent(tmp_path: Path) -> None:
    error = load_error(tmp_path, [*GOOD_UNITS, "c,Đơn vị C,zz,district,tax,d1,,0"], [])
    (issue,) = error.issues
    assert (issue.line, issue.field) == (4, "parent_id")
    assert "unknown parent_id 'zz'" in issue.message


def test_parent_cycle(tmp_path: Path) -> None:
    rows = [
        "a,A,,province,department,,I,1",
        "x,X,z,district,tax,,,0",
        "y,Y,x,district,tax,,,0",
        "z,Z,y,district,tax,,,0",
        "s,S,s,district,tax,,,0",
    ]
    error = load_error(tmp_path, rows, [])
    assert [(i.line, i.field) for i in error.issues] == [(3, "parent_id"), (6, "parent_id")]
    assert "cycle: x -> z -> y -> x" in error.issues[0].message
    assert "cycle: s -> s" in error.issues[1].message


def test_procedure_with_unknown_unit(tmp_path: Path) -> None:
    error = load_error(
        tmp_path, GOOD_UNITS, [GOOD_PROC, "p2,Thủ tục 2,Tư pháp,nope,5,true,true,true,true"]
    )
    (issue,) = error.issues
    assert issue.path.endswith("procedures.csv")
    assert (issue.line, issue.field) == (3, "unit_id")
    assert "unknown unit_id 'nope'" in issue.message


@pytest.mark.parametrize("bad", ["True", "1", "yes", "FALSE", " true"])
def test_bad_boolean(tmp_path: Path, bad: str) -> None:
    error = load_error(tmp_path, GOOD_UNITS, [f"p1,Thủ tục 1,Tư pháp,a,5,true,{bad},true,true"])
    (issue,) = error.issues
    assert (issue.line, issue.field) == (2, "online_payment")
    assert "expected 'true' or 'false'" in issue.message


def test_duplicate_procedure_id(tmp_path: Path) -> None:
    error = load_error(tmp_path, GOOD_UNITS, [GOOD_PROC, GOOD_PROC])
    (issue,) = error.issues
    assert (issue.line, issue.field) == (3, "procedure_id")


@pytest.mark.parametrize(
    ("row", "field"),
    [
        ("p1,Thủ tục 1,Tư pháp,a,5.5,true,false,true,true", "processing_days"),
        ("p1,Thủ tục 1,Tư pháp,a,-1,true,false,true,true", "processing_days"),
        ("p1,,Tư pháp,a,5,true,false,true,true", "name"),
        ("p1,Thủ tục 1,Tư pháp,a,,true,false,true,true", "processing_days"),
        ("p1,Thủ tục 1,Tư pháp,a,5,true,false,true", "row"),
    ],
)
def test_bad_procedure_cells(tmp_path: Path, row: str, field: str) -> None:
    path = write(tmp_path, "procedures.csv", PROCS_HEADER, [row])
    with pytest.raises(ReferenceDataError) as info:
        load_procedures(path)
    (issue,) = info.value.issues
    assert (issue.path, issue.line, issue.field) == (str(path), 2, field)


@pytest.mark.parametrize(
    ("row", "field"),
    [
        ("A,Đơn vị,,province,department,,I,1", "unit_id"),
        ("a,Đơn vị,,region,department,,I,1", "level"),
        ("a,Đơn vị,,province,department,,V,1", "report_group"),
        ("a,Đơn vị,,province,department,,I,x", "report_order"),
    ],
)
def test_bad_unit_cells(tmp_path: Path, row: str, field: str) -> None:
    path = write(tmp_path, "units.csv", UNITS_HEADER, [row])
    with pytest.raises(ReferenceDataError) as info:
        load_units(path)
    (issue,) = info.value.issues
    assert (issue.line, issue.field) == (2, field)


def test_line_numbers_count_physical_lines(tmp_path: Path) -> None:
    rows = ['a,"Tên\nhai dòng",,province,department,,I,1', "", "a,Lặp,,province,department,,I,2"]
    path = write(tmp_path, "units.csv", UNITS_HEADER, rows)
    with pytest.raises(ReferenceDataError) as info:
        load_units(path)
    (issue,) = info.value.issues
    assert issue.line == 5


def test_bundled_path_rejects_unknown_and_escaping_names() -> None:
    with pytest.raises(FileNotFoundError):
        bundled_path("nowhere/units.csv")
    with pytest.raises(ValueError, match="bad bundled"):
        bundled_path("../registry.py")
