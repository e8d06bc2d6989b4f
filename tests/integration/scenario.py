"""A hand-written scenario: 30 dossiers, 5 units, two periods, with figures worked out by hand.

Units: Sở Tư pháp (S), Sở Y tế (Y), the commune one-stop of Cam Lộ (X), the Cam Lộ
land-registration branch (L) and the Cam Lộ tax branch (T). Periods 2022-03
(15/2–14/3) and 2022-04 (15/3–14/4).
"""

from __future__ import annotations

import json
import random
from typing import Any

from tests.eventkit import raw

S, Y, X, L, T = (
    "so-tu-phap",
    "so-y-te",
    "xa-cam-lo",
    "cn-vpdkdd-cam-lo",
    "chi-cuc-thue-cam-lo",
)
JUSTICE = "qt.so-tu-phap.002"  # 10 days, fee, online payment, digitized
HEALTH = "qt.so-y-te.003"  # 9 days, fee, online payment, digitized
LAND = "1.004227"  # commune land procedure, no fee, digitized


def events() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []

    def add(type_: str, dossier: str, at: str, unit: str, **fields: Any) -> None:
        out.append(raw(type_, dossier, at, unit, event_id=f"{dossier}-{len(out):03d}", **fields))

    # A: 10 online at S in 2022-04, due 31/3 17:00: 4 early, 3 on time, 3 late;
    # components digitized for 5 (fully), paid through the national portal for 2.
    for i in range(10):
        d = f"A{i:02d}"
        add(
            "received",
            d,
            "2022-03-21 09:00",
            S,
            procedure_id=JUSTICE,
            channel="online",
            due_at="2022-03-31 17:00",
        )
        if i < 5:
            add("digitized", d, "2022-03-21 09:10", S, target="components", complete=True)
        if i < 2:
            add("paid", d, "2022-03-21 09:20", S, channel="national_portal", amount_vnd=200000)
        closed = (
            "2022-03-30 10:00" if i < 4 else "2022-03-31 10:00" if i < 7 else "2022-04-01 09:00"
        )
        add("resolved", d, closed, S, result="approved")

    # B: 6 direct at Y in 2022-03, due 10/3 17:00: 2 early in 2022-03; 2 late in 2022-04
    # (one apologized); 1 still open (overdue); 1 withdrawn in 2022-04.
    for i in range(6):
        d = f"B{i:02d}"
        add(
            "received",
            d,
            "2022-03-01 08:30",
            Y,
            procedure_id=HEALTH,
            channel="direct",
            due_at="2022-03-10 17:00",
        )
        if i < 2:
            add("resolved", d, "2022-03-09 15:00", Y)
        elif i < 4:
            if i == 2:
                add("apologized", d, "2022-03-18 08:00", Y, new_appointment_at="2022-03-20 17:00")
            add("resolved", d, "2022-03-20 10:00", Y)
        elif i == 5:
            add("withdrawn", d, "2022-03-16 09:00", Y, reason="người nộp rút hồ sơ")

    # C: 8 land dossiers at X in 2022-04, due 20/4, each handed to L (stage due 23/3).
    for i in range(8):
        d = f"C{i:02d}"
        add(
            "received",
            d,
            "2022-03-16 08:00",
            X,
            procedure_id=LAND,
            channel="direct",
            due_at="2022-04-20 17:00",
        )
        add("transferred", d, "2022-03-16 10:00", X, to_unit_id=L, stage_due_at="2022-03-23 17:00")
        if i < 4:  # L -> T early, T late (28/3 > 25/3), X resolves early
            add(
                "transferred",
                d,
                "2022-03-22 09:00",
                L,
                to_unit_id=T,
                stage_due_at="2022-03-25 17:00",
            )
            add("transferred", d, "2022-03-28 09:00", T, to_unit_id=X)
            add("resolved", d, "2022-03-29 10:00", X)
            if i < 2:
                add("digitized", d, "2022-03-29 10:05", X, target="result", complete=True)
        elif i < 6:  # clock stop 18/3 -> 24/3: four working days, stage due -> 29/3
            add("supplement_requested", d, "2022-03-18 10:00", L, reason="thiếu trích lục")
            add("supplemented", d, "2022-03-24 10:00", L)
            add("transferred", d, "2022-03-28 15:00", L, to_unit_id=X)
            add("resolved", d, "2022-04-05 10:00", X)
        elif i == 6:  # still at L at the end of 2022-04
            pass
        else:  # extended to 1/4, resolved late on 4/4
            add("extended", d, "2022-03-17 09:00", X, new_due_at="2022-04-01 17:00")
            add("transferred", d, "2022-03-23 16:00", L, to_unit_id=X)
            add("resolved", d, "2022-04-04 10:00", X)

    # D: 6 postal at S in 2022-03, due 20/3: 3 early in 2022-03, 3 early in 2022-04.
    for i in range(6):
        d = f"D{i:02d}"
        add(
            "received",
            d,
            "2022-03-01 10:00",
            S,
            procedure_id=JUSTICE,
            channel="postal",
            due_at="2022-03-20 17:00",
        )
        add("resolved", d, "2022-03-14 10:00" if i < 3 else "2022-03-18 10:00", S)
    return out


def invalid_lines() -> list[bytes]:
    """Three events the worker must dead-letter, each for a different reason."""
    return [
        b'{"schema_version": 1, "event_id": "bad-json", "type": ',
        json.dumps(
            raw(
                "received",
                "Z01",
                "2022-03-21 09:00",
                S,
                event_id="bad-field",
                procedure_id=JUSTICE,
                channel="online",
                citizen_name="Nguyễn Văn A",
            ),
            ensure_ascii=False,
        ).encode(),
        json.dumps(
            raw(
                "received",
                "Z02",
                "2022-03-21 09:00",
                "so-khong-ton-tai",
                event_id="bad-unit",
                procedure_id=JUSTICE,
                channel="online",
            )
        ).encode(),
    ]


def stream(seed: int = 7) -> list[bytes]:
    """Valid events shuffled (so also within dossiers), 12 redelivered, 3 invalid mixed in."""
    rng = random.Random(seed)
    lines = [json.dumps(e, ensure_ascii=False).encode() for e in events()]
    lines += rng.sample(lines, 12)
    lines += invalid_lines()
    rng.shuffle(lines)
    return lines


ZERO_DIG = {"received": 0, "with_components": 0, "fully": 0, "resolved": 0, "results": 0}
ZERO_LAND = {
    "received_new": 0,
    "resolved_on_time": 0,
    "resolved_late": 0,
    "late_at_commune": 0,
    "late_at_district": 0,
    "late_at_natural_resources": 0,
    "late_at_construction": 0,
    "late_at_tax": 0,
    "carried_over": 0,
    "in_progress_within": 0,
    "in_progress_overdue": 0,
}


def expected() -> dict[str, dict[str, dict[str, Any]]]:
    """Hand-worked figures per period and unit (only non-zero fields listed)."""
    return {
        "2022-03": {
            S: {
                "received_direct": 6,
                "resolved_early": 3,
                "in_progress_within": 3,
                "digitization": {**ZERO_DIG, "received": 6, "resolved": 3},
                "fees": {"dossiers": 6},
            },
            Y: {
                "received_direct": 6,
                "resolved_early": 2,
                "in_progress_overdue": 4,
                "digitization": {**ZERO_DIG, "received": 6, "resolved": 2},
                "fees": {"dossiers": 6},
            },
        },
        "2022-04": {
            S: {
                "received_online": 10,
                "carried_over": 3,
                "resolved_early": 7,
                "resolved_on_time": 3,
                "resolved_late": 3,
                "late_as_initial": 3,
                "digitization": {
                    **ZERO_DIG,
                    "received": 10,
                    "with_components": 5,
                    "fully": 5,
                    "resolved": 13,
                },
                "fees": {"dossiers": 10, "paid_national_portal": 2},
            },
            Y: {
                "carried_over": 4,
                "resolved_late": 2,
                "late_as_initial": 2,
                "apologized": 1,
                "withdrawn": 1,
                "in_progress_overdue": 1,
                "digitization": {**ZERO_DIG, "resolved": 2},
            },
            X: {
                "received_direct": 8,
                "resolved_early": 6,
                "resolved_late": 1,
                "late_as_initial": 1,
                "extended": 1,
                "in_progress_within": 1,
                "digitization": {**ZERO_DIG, "received": 8, "resolved": 7, "results": 2},
                # Land appendix: the tax stages of C00-C03 and C07's last stage were late.
                "land": {
                    **ZERO_LAND,
                    "received_new": 8,
                    "resolved_on_time": 6,
                    "resolved_late": 1,
                    "late_at_tax": 4,
                    "late_at_commune": 1,
                    "in_progress_within": 1,
                },
            },
            L: {"received_interagency": 8, "resolved_early": 6, "resolved_on_time": 1},
            T: {"received_interagency": 4, "resolved_late": 4, "late_as_interagency": 4},
        },
        "2022-05": {
            Y: {"carried_over": 1, "in_progress_overdue": 1},
            # C06 is open at X and its inter-agency stage is open at L.
            X: {
                "carried_over": 1,
                "in_progress_overdue": 1,
                "land": {**ZERO_LAND, "carried_over": 1, "in_progress_overdue": 1},
            },
            L: {"carried_over": 1},
        },
    }


PARENTS = {X: "ubnd-cam-lo", L: "so-tai-nguyen-va-moi-truong", T: "cuc-thue"}
