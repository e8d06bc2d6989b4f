"""Redis memory per open dossier, and the sweep tick cost with their timers.

    python bench/timers.py [--dossiers 1000000] [--quick]

Open dossiers (``--quick``: 100,000) are generated from the April 2022 mix: every
dossier of ``simulate quangtri-2022-04`` is a template (unit, procedure, channel, the
gap from reception to each due, and its first transfer if it has one), moved in time so
that its last event happened 0–3 days ago; a due that would lie in the past is put
1–30 days ahead instead, so every dossier has deadlines to come and alerts scheduled.
They are loaded with ``tthc-monitor replay`` into a FRESH redis-server started here on
a free port, so ``INFO memory`` ``used_memory`` before and after is ours alone.

Figures: bytes per open dossier (state + timers + dedupe index + due index + counters),
broken down per key family with ``MEMORY USAGE`` (dossier hashes sampled, the large
shared keys measured whole: ``SAMPLES 0``); the baseline is a bare minimal record on the
same server, one 100-byte string per dossier. Then the idle sweep tick (one claim, as
``bench/alerts.py`` measures it) with those timers, against its floor: one bare
``ZRANGEBYSCORE timers -inf now LIMIT 0 1`` round trip.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import redis
from redis.asyncio import Redis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.alerts import idle_ticks
from bench.common import ROOT, cli, exit_on_sigterm, new_tag, ratio, simulate_month, text
from tthc_monitor.core.periods import LOCAL_TZ
from tthc_monitor.core.schedule import epoch
from tthc_monitor.embedded import Embedded
from tthc_monitor.reference.registry import load_registry
from tthc_monitor.reference.versions import in_force_on
from tthc_monitor.store.alert_store import AlertStore

BARE_VALUE = b"x" * 100
DUE_FIELDS = ("due_at", "stage_due_at")
UNIT_FIELDS = ("unit_id", "to_unit_id")


def units_in_force(today: date) -> dict[str, str]:
    """Each unit id -> a unit in force today: the 2022 units of the template month ended
    on 30 June 2025 with no successor named, so each is mapped to one of today's units,
    in turn (the mix of units changes, the dossiers' shapes and dues do not)."""
    units = load_registry().units
    current = sorted(u for u, unit in units.items() if in_force_on(unit, today))
    out: dict[str, str] = {}
    for n, unit_id in enumerate(sorted(units)):
        out[unit_id] = unit_id if unit_id in current else current[n % len(current)]
    return out


def templates(month: Path) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
    """(received, first transfer or None) of every dossier of the month, in file order."""
    received: dict[str, dict[str, Any]] = {}
    transfer: dict[str, dict[str, Any]] = {}
    with month.open("rb") as handle:
        for line in handle:
            event = json.loads(line)
            dossier = event["dossier_id"]
            if event["type"] == "received":
                received[dossier] = event
            elif event["type"] == "transferred" and dossier in received:
                transfer.setdefault(dossier, event)
    return [(event, transfer.get(dossier)) for dossier, event in received.items()]


def open_dossiers(month: Path, count: int, out: Path, now: datetime) -> list[str]:
    """Write ``count`` open dossiers as JSON Lines; their ids."""
    mix = templates(month)
    moved = units_in_force(now.date())
    ids: list[str] = []
    with out.open("w", encoding="utf-8") as handle:
        for n in range(count):
            received, transfer = mix[n % len(mix)]
            dossier_id = f"{received['dossier_id']}-o{n // len(mix)}"
            events = [received] if transfer is None else [received, transfer]
            last = datetime.fromisoformat(events[-1]["occurred_at"])
            age = timedelta(minutes=1 + (n * 7919) % (3 * 24 * 60))
            shift = (now - age) - last
            for number, template in enumerate(events):
                event = dict(template, dossier_id=dossier_id, event_id=f"{dossier_id}-{number:02d}")
                at = datetime.fromisoformat(template["occurred_at"]) + shift
                event["occurred_at"] = at.isoformat()
                for name in UNIT_FIELDS:
                    if event.get(name):
                        event[name] = moved.get(event[name], event[name])
                for name in DUE_FIELDS:
                    if event.get(name):
                        due = datetime.fromisoformat(event[name]) + shift
                        if due <= now + timedelta(hours=1):
                            due = (now + timedelta(days=1 + n % 30)).replace(
                                hour=17, minute=0, second=0, microsecond=0
                            )
                        event[name] = due.isoformat()
                handle.write(json.dumps(event, ensure_ascii=False) + "\n")
            ids.append(dossier_id)
    return ids


def used_memory(client: redis.Redis) -> int:
    client.memory_purge()
    return int(client.info("memory")["used_memory"])


def usage(client: redis.Redis, keys: list[str]) -> int:
    """Bytes of these keys, each measured whole."""
    with client.pipeline(transaction=False) as pipe:
        for key in keys:
            pipe.memory_usage(key, samples=0)
        return sum(int(v or 0) for v in pipe.execute())


def breakdown(client: redis.Redis, ns: str, ids: list[str]) -> dict[str, float]:
    """Bytes per open dossier of each key family."""
    step = max(1, len(ids) // 2000)
    sample = [f"{ns}:d:{d}" for d in ids[::step]]
    per_hash = usage(client, sample) / len(sample)

    def family(pattern: str) -> list[str]:
        # A private server: KEYS is fine.
        return [text(k) for k in client.keys(pattern)]

    n = len(ids)
    return {
        "dossier_hashes": per_hash,
        "eid_index": usage(client, [f"{ns}:eid"]) / n,
        "timers_and_alert_records": usage(client, [f"{ns}:timers", f"{ns}:alert", f"{ns}:fired"])
        / n,
        "due_index": usage(client, family(f"{ns}:open:*")) / n,
        "counter_hashes": usage(
            client,
            [*family(f"{ns}:p:*"), f"{ns}:g", f"{ns}:periods", f"{ns}:stats", f"{ns}:progress"],
        )
        / n,
    }


def bare_records(client: redis.Redis, ids: list[str]) -> float:
    """Bytes per dossier of one 100-byte string per dossier, on the same server."""
    before = used_memory(client)
    for start in range(0, len(ids), 10_000):
        with client.pipeline(transaction=False) as pipe:
            for dossier_id in ids[start : start + 10_000]:
                pipe.set(f"bare:{dossier_id}", BARE_VALUE)
            pipe.execute()
    after = used_memory(client)
    for start in range(0, len(ids), 10_000):
        client.unlink(*(f"bare:{d}" for d in ids[start : start + 10_000]))
    return (after - before) / len(ids)


async def tick_cost(url: str, ns: str) -> dict[str, float]:
    """Idle sweep tick with the loaded timers, and a bare ZRANGEBYSCORE round trip."""
    client = Redis.from_url(url)
    store = AlertStore(client, ns, ["kafka"])
    now = datetime.now(LOCAL_TZ)
    try:
        fired = 0
        while (claimed := await store.claim(now, 1000)).taken:  # what is due already
            fired += claimed.queued
        ticks = await idle_ticks(store, now)
        floor: list[float] = []
        for _ in range(200):
            started = time.perf_counter()
            await client.zrangebyscore(f"{ns}:timers", "-inf", epoch(now), start=0, num=1)
            floor.append(time.perf_counter() - started)
        return {
            "timers": await client.zcard(f"{ns}:timers"),
            "fired_before_timing": fired,
            "tick_ms": statistics.median(ticks) * 1000,
            "tick_p99_ms": sorted(ticks)[int(0.99 * len(ticks))] * 1000,
            "floor_ms": statistics.median(floor) * 1000,
        }
    finally:
        await client.aclose()


def timers(env: dict[str, str], dossiers: int, folder: Path) -> dict[str, Any]:
    ns = f"benchtm{new_tag()}"
    path = folder / "open.jsonl"
    ids = open_dossiers(simulate_month(folder), dossiers, path, datetime.now(LOCAL_TZ))
    private = Embedded()
    try:
        url = private.start_redis()
        client = redis.Redis.from_url(url)
        before = used_memory(client)
        started = time.perf_counter()
        subprocess_env = env | {"TTHC_REDIS_URL": url, "TTHC_NAMESPACE": ns}
        subprocess.run(
            cli("replay", str(path)), env=subprocess_env, cwd=ROOT, check=True, capture_output=True
        )
        replay_s = time.perf_counter() - started
        total = (used_memory(client) - before) / dossiers
        parts = breakdown(client, ns, ids)
        parts["other"] = total - sum(parts.values())
        bare = bare_records(client, ids)
        ticks = asyncio.run(tick_cost(url, ns))
        client.close()
    finally:
        private.stop()
    return {
        "dossiers": dossiers,
        "events": sum(1 for _ in path.open("rb")),
        "replay_s": replay_s,
        "bytes_per_dossier": total,
        "breakdown": parts,
        "bare_bytes_per_dossier": bare,
        "sweep": ticks,
    }


def report(result: dict[str, Any]) -> None:
    total, bare = result["bytes_per_dossier"], result["bare_bytes_per_dossier"]
    print(
        f"timers_bytes_per_dossier: {total:,.0f} bytes ({ratio(total, bare)} of a bare "
        f"100-byte record, {bare:,.0f} bytes; {result['dossiers']:,} open dossiers)",
        flush=True,
    )
    for name, value in result["breakdown"].items():
        print(f"timers_{name}: {value:,.0f} bytes per dossier ({value / total:.0%} of ours)")
    sweep = result["sweep"]
    print(
        f"timers_scheduled: {sweep['timers'] / result['dossiers']:.2f} timers per dossier "
        f"({sweep['timers']:,} in the sweep queue)"
    )
    tick, floor = sweep["tick_ms"], sweep["floor_ms"]
    print(
        f"timers_sweep_tick: {tick:.2f} ms ({ratio(tick, floor)} of a bare ZRANGEBYSCORE "
        f"round trip, {floor:.2f} ms; p99 {sweep['tick_p99_ms']:.2f} ms)",
        flush=True,
    )


def main() -> int:
    exit_on_sigterm()
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dossiers", type=int)
    parser.add_argument("--quick", action="store_true", help="100,000 open dossiers")
    args = parser.parse_args()
    dossiers = args.dossiers or (100_000 if args.quick else 1_000_000)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    with tempfile.TemporaryDirectory() as tmp:
        result = timers(env, dossiers, Path(tmp))
    report(result)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
