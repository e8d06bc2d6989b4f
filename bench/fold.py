"""The rules alone: CPU seconds of the per-dossier update (core/update.py) over a month.

No Kafka, no Redis: the events are decoded first (not timed), then cut into batches as
``replay`` cuts them (its BATCH, in file order), each batch grouped by dossier as the
store groups it, and ``plan_update`` folds each group into the state the previous batches
left, kept in a dict where the store keeps it in Redis, then encodes the dossier's alert
plan into the record the store sends with its write (store/schedule_codec.py). What is
timed is the rules' share of a replay or of the worker, so the same
script compares builds of tthc_monitor/core (pure Python, or compiled with mypyc:
docs/benchmarks.md, issue 15). CPU seconds, not wall time: the machine is shared.

    python bench/fold.py [--events month.jsonl] [--batch 20000] [--repeat 3]

Prints one ``fold:`` line (median of ``--repeat`` passes in this process) naming where
tthc_monitor.core was imported from, so a run says which build it measured.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import simulate_month  # noqa: E402
from schemas.events import DossierEvent  # noqa: E402
from tthc_monitor.cli.replay import BATCH  # noqa: E402
from tthc_monitor.config import Settings  # noqa: E402
from tthc_monitor.core import timeline as timeline_module  # noqa: E402
from tthc_monitor.core import update as update_module  # noqa: E402
from tthc_monitor.core.engine import Engine  # noqa: E402
from tthc_monitor.core.schedule import Epoch, epoch  # noqa: E402
from tthc_monitor.core.update import StoredEvent, plan_update  # noqa: E402
from tthc_monitor.ingest import Rejection, decode  # noqa: E402
from tthc_monitor.store.redis_store import (  # noqa: E402
    ALERT_HORIZON,
    SCHEDULED,
    group_by_dossier,
)
from tthc_monitor.store.schedule_codec import encode_plan  # noqa: E402

State = tuple[list[StoredEvent], dict[str, int], dict[str, Epoch]]
"""A dossier's stored events, contribution and its note of scheduled alerts
(``{"@": last fire time}``, as the store keeps it since one timer per dossier)."""


def load(path: Path, engine: Engine) -> list[DossierEvent]:
    events: list[DossierEvent] = []
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, 1):
            outcome = decode(raw, engine)
            if isinstance(outcome, Rejection):
                raise SystemExit(f"{path}:{number}: {outcome.reason}")
            events.append(outcome)
    return events


def fold(engine: Engine, events: list[DossierEvent], batch: int) -> tuple[float, int, int]:
    """One pass from empty state; returns (CPU seconds, dossiers, plan_update calls)."""
    states: dict[str, State] = {}
    size = batch or len(events)
    # The store's clock and horizon: a replay today of an old month schedules no alert,
    # and (as in the store) a dossier with none scheduled lets plan_update skip them.
    now = datetime.now(UTC)
    oldest_alert = now - ALERT_HORIZON
    calls = 0
    started = time.process_time()
    for start in range(0, len(events), size):
        for dossier_id, incoming in group_by_dossier(
            events[start : start + size], lambda e: e
        ).items():
            stored, contribution, scheduled = states.get(dossier_id, ([], {}, {}))
            update = plan_update(
                engine,
                dossier_id,
                stored,
                contribution,
                incoming,
                None if scheduled else oldest_alert,
            )
            calls += 1
            if update.fresh_ids:
                if not update.alerts_kept:  # as the store: the plan record of the write
                    encode_plan(update.alerts)
                    latest = max(
                        (
                            epoch(a.fire_at)
                            for a in update.alerts
                            if scheduled or a.fire_at >= oldest_alert
                        ),
                        default=None,
                    )
                    scheduled = {} if latest is None else {SCHEDULED: latest}
                states[dossier_id] = (update.events, update.contribution, scheduled)
    return time.process_time() - started, len(states), calls


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=Path, help="JSON Lines (default: simulate April 2022)")
    parser.add_argument(
        "--batch", type=int, default=BATCH, help=f"events per batch (replay's {BATCH}); 0: one"
    )
    parser.add_argument("--repeat", type=int, default=1, help="passes; the median is printed")
    args = parser.parse_args()
    engine = Settings().engine
    with tempfile.TemporaryDirectory() as tmp:
        path = args.events or simulate_month(Path(tmp))
        events = load(path, engine)
    seconds: list[float] = []
    dossiers = calls = 0
    for _ in range(max(1, args.repeat)):
        cpu, dossiers, calls = fold(engine, events, args.batch)
        seconds.append(cpu)
    median = statistics.median(seconds)
    where = ", ".join(str(m.__file__) for m in (update_module, timeline_module))
    print(
        f"fold: {len(events)} events, {dossiers} dossiers, {calls} updates, "
        f"batch {args.batch or len(events)}: {median:.2f} s CPU "
        f"(median of {len(seconds)}: {', '.join(f'{s:.2f}' for s in seconds)}), "
        f"{len(events) / median:,.0f} events/s; core from {where}",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
