"""A deterministic synthetic event mix for benchmarks (until the April 2022 scenario lands).

Usage: python bench/synthetic.py --events 100000 --out /tmp/events.jsonl [--seed 1]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from tthc_monitor.core.periods import LOCAL_TZ
from tthc_monitor.reference.registry import Registry, load_registry

START = datetime(2022, 2, 1, 7, 30, tzinfo=LOCAL_TZ)


def receiving_units(registry: Registry) -> list[tuple[str, list[str]]]:
    units = []
    for unit_id, unit in registry.units.items():
        if unit.kind in ("procedure_scope", "district_committee"):
            continue
        procedures = [p.procedure_id for p in registry.procedures_available(unit_id)]
        if procedures:
            units.append((unit_id, procedures))
    return units


def dossier(
    rng: random.Random, n: int, registry: Registry, units: list[tuple[str, list[str]]]
) -> list[dict[str, Any]]:
    owner, procedures = rng.choice(units)
    d = f"BENCH-{n:08d}"
    t = START + timedelta(minutes=rng.randrange(0, 60 * 24 * 80))
    out: list[dict[str, Any]] = []

    def add(type_: str, unit: str, **fields: Any) -> None:
        out.append(
            {
                "schema_version": 1,
                "event_id": f"{d}-{len(out)}",
                "type": type_,
                "dossier_id": d,
                "occurred_at": t.isoformat(),
                "unit_id": unit,
                **fields,
            }
        )

    add(
        "received",
        owner,
        procedure_id=rng.choice(procedures),
        channel=rng.choice(["online", "direct", "direct", "postal"]),
    )
    if rng.random() < 0.6:
        t += timedelta(minutes=10)
        add("digitized", owner, target="components", complete=rng.random() < 0.9)
    if rng.random() < 0.3:
        other = rng.choice([u for u, _ in units if u != owner])
        t += timedelta(hours=rng.randrange(1, 48))
        add(
            "transferred",
            owner,
            to_unit_id=other,
            stage_due_at=(t + timedelta(days=rng.randrange(1, 10))).isoformat(),
        )
        if rng.random() < 0.1:
            t += timedelta(hours=5)
            add("supplement_requested", other)
            t += timedelta(days=rng.randrange(1, 6))
            add("supplemented", other)
        t += timedelta(hours=rng.randrange(4, 24 * 12))
        add("transferred", other, to_unit_id=owner)
    if rng.random() < 0.2:
        t += timedelta(hours=2)
        add(
            "paid",
            owner,
            channel=rng.choice(["national_portal", "one_stop", "offline"]),
            amount_vnd=rng.randrange(0, 2_000_000),
        )
    t += timedelta(hours=rng.randrange(2, 24 * 20))
    if rng.random() < 0.85:
        add("resolved", owner, result="approved")
        if rng.random() < 0.4:
            t += timedelta(minutes=5)
            add("digitized", owner, target="result", complete=True)
    elif rng.random() < 0.2:
        add("withdrawn", owner)
    return out


def generate(events: int, seed: int, registry: Registry) -> list[str]:
    rng = random.Random(seed)
    units = receiving_units(registry)
    lines: list[str] = []
    n = 0
    while len(lines) < events:
        lines.extend(json.dumps(e, ensure_ascii=False) for e in dossier(rng, n, registry, units))
        n += 1
    return lines[:events]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    lines = generate(args.events, args.seed, load_registry())
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {len(lines)} events to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
