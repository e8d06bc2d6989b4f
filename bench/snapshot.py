"""A province month from events to appendices.xlsx: each step's seconds, end to end.

    python bench/snapshot.py

The README's steps, each timed as the whole ``tthc-monitor`` process (interpreter
start-up included, as an operator runs them), in a private namespace:

1. ``simulate quangtri-2022-04`` (180,877 events);
2. ``replay`` of that file;
3. ``snapshot --period 2022-04 --freeze`` (version 1 of April);
4. ``snapshot --period 2022-03 --months 3 --freeze`` (the land quarter, PL4, which the
   report needs);
5. ``report --period 2022-04 --out DIR`` (appendices.xlsx, bao-cao.docx, ...).

Baseline: the floor of a snapshot, a plain HGETALL of every counter hash of the
namespace (``{ns}:periods`` members and ``{ns}:g``) in one pipeline, median of 20, in
this process; the freeze steps are compared with it. Since each step is a new process,
the time of ``tthc-monitor snapshot --help`` (interpreter and imports, no work) is
printed too: most of a freeze's seconds are that.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import redis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import ROOT, cli, drop_namespace, exit_on_sigterm, new_tag, ratio, text

STEPS = ("simulate", "replay", "freeze_month", "freeze_quarter", "report")


def hgetall_floor(url: str, ns: str, runs: int = 20) -> float:
    client = redis.Redis.from_url(url)
    periods = sorted(text(p) for p in client.smembers(f"{ns}:periods"))
    keys = [f"{ns}:p:{p}" for p in periods] + [f"{ns}:g"]
    times: list[float] = []
    for _ in range(runs):
        started = time.perf_counter()
        with client.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.hgetall(key)
            pipe.execute()
        times.append(time.perf_counter() - started)
    client.close()
    return statistics.median(times)


def snapshot_and_report(env: dict[str, str], folder: Path) -> dict[str, Any]:
    ns = f"benchsn{new_tag()}"
    env = env | {"TTHC_NAMESPACE": ns}
    month, out = folder / "snapshot-month.jsonl", folder / "report"
    commands = {
        "simulate": cli("simulate", "quangtri-2022-04", "--out", str(month)),
        "replay": cli("replay", str(month)),
        "freeze_month": cli("snapshot", "--period", "2022-04", "--freeze"),
        "freeze_quarter": cli("snapshot", "--period", "2022-03", "--months", "3", "--freeze"),
        "report": cli("report", "--period", "2022-04", "--out", str(out)),
    }
    seconds: dict[str, float] = {}
    try:
        for step in STEPS:
            started = time.perf_counter()
            subprocess.run(commands[step], env=env, cwd=ROOT, check=True, capture_output=True)
            seconds[step] = time.perf_counter() - started
        if not (out / "appendices.xlsx").exists():
            raise RuntimeError(f"report wrote no appendices.xlsx in {out}")
        floor = hgetall_floor(env["TTHC_REDIS_URL"], ns)
        started = time.perf_counter()
        subprocess.run(
            cli("snapshot", "--help"), env=env, cwd=ROOT, check=True, capture_output=True
        )
        startup = time.perf_counter() - started
    finally:
        drop_namespace(env["TTHC_REDIS_URL"], ns)
    return {
        "seconds": seconds,
        "total_s": sum(seconds.values()),
        "files": sorted(p.name for p in out.iterdir()),
        "hgetall_floor_s": floor,
        "process_startup_s": startup,
    }


def report(result: dict[str, Any]) -> None:
    seconds, floor = result["seconds"], result["hgetall_floor_s"]
    for step in STEPS:
        note = ""
        if step.startswith("freeze"):
            note = f" ({ratio(seconds[step], floor)} of the HGETALL floor)"
        print(f"snapshot_{step}: {seconds[step]:.2f} s{note}")
    print(f"snapshot_hgetall_floor: {floor * 1000:.1f} ms (baseline)")
    print(f"snapshot_process_startup: {result['process_startup_s']:.2f} s (in every step)")
    print(f"snapshot_total: {result['total_s']:.1f} s (target 60 s)", flush=True)


def main() -> int:
    exit_on_sigterm()
    if not os.environ.get("TTHC_REDIS_URL"):
        print("set TTHC_REDIS_URL (bench/run.py starts one when unset)", file=sys.stderr)
        return 2
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    with tempfile.TemporaryDirectory() as tmp:
        result = snapshot_and_report(env, Path(tmp))
    report(result)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
