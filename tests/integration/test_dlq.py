"""``tthc-monitor dlq`` and ``status`` on real Kafka, Redis and a worker.

A worker whose procedure catalog lacks one procedure dead-letters the receptions of its
dossiers (their later events wait as orphans). ``dlq list`` and ``show`` name them with
no payload; ``resend`` refuses while the reference data still refuses them; once the
worker has the full catalog, ``resend --all`` publishes the originals again and the
figures become exactly the hand-worked ones; a second resend changes nothing.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from tests.integration import scenario
from tests.integration.conftest import Env, produce
from tests.integration.test_pipeline import PERIODS, check, snapshot, wait_applied
from tthc_monitor.kafka_admin import end_offsets
from tthc_monitor.reference.bundled import BUNDLED_PROCEDURES, bundled_path
from tthc_monitor.reference.registry import Registry

MISSING = scenario.HEALTH
"""The procedure the worker's catalog lacks at first (the B dossiers of Sở Y tế)."""


def catalog_without(procedure_id: str, folder: Path) -> Path:
    source = bundled_path(BUNDLED_PROCEDURES)
    lines = source.read_text(encoding="utf-8").splitlines(keepends=True)
    kept = [line for line in lines if not line.startswith(f"{procedure_id},")]
    assert len(kept) == len(lines) - 1
    target = folder / "procedures-without.csv"
    target.write_text("".join(kept), encoding="utf-8")
    return target


def stop_workers(env: Env) -> None:
    for worker in env.workers:
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(60) == 0, env.tail()
    env.workers.clear()


@pytest.mark.parametrize("payload", ["reference", "copy"])
def test_dead_letters_listed_shown_and_resent(
    env: Env, tmp_path: Path, registry: Registry, payload: str
) -> None:
    """With ``reference`` the originals are read back from the events topic; with
    ``copy`` from the letters themselves."""
    env.extra["TTHC_DLQ_PAYLOAD"] = payload
    events = scenario.events()
    refused_ids = {e["event_id"] for e in events if e.get("procedure_id") == MISSING}
    assert len(refused_ids) == 6
    env.extra["TTHC_PROCEDURES"] = str(catalog_without(MISSING, tmp_path))
    env.start_worker(tmp_path)
    produce(env, [json.dumps(e, ensure_ascii=False).encode() for e in events])
    wait_applied(env)
    assert env.stats()["dead_letters"] == len(refused_ids)

    listed = json.loads(env.cli("dlq", "list", "--json").stdout)
    assert {letter["event_id"] for letter in listed} == refused_ids
    assert [letter["offset"] for letter in listed] == list(range(len(refused_ids)))
    for letter in listed:
        assert letter["field"] == "procedure_id"
        assert "not in the reference data" in letter["reason"]
        assert set(letter) == {
            "partition",
            "offset",
            "time",
            "event_id",
            "reason",
            "field",
            "source",
        }, "a listing carries no payload"
    table = env.cli("dlq", "list").stdout.splitlines()
    assert table[0] == "offset\tthời điểm\tevent_id\tlý do" and len(table) == 7

    # With the catalog still lacking the procedure: invalid, and resend refuses them all.
    shown = json.loads(env.cli("dlq", "show", "0", "--json").stdout)
    assert shown["original"] == "available" and shown["now"] == "invalid"
    assert shown["payload_kept"] == payload
    before = sum(end_offsets(env.services.kafka, env.topic).values())
    refused = env.cli("dlq", "resend", "--all", check=False)
    assert refused.returncode == 2, refused.stderr
    assert refused.stderr.count("not in the reference data") == len(refused_ids)
    assert "nothing resent" in refused.stderr.splitlines()[-1]
    assert sum(end_offsets(env.services.kafka, env.topic).values()) == before
    status = json.loads(env.cli("status", "--json").stdout)
    assert status["ok"] and status["dead_letters_in_topic"] == len(refused_ids)
    assert status["orphan_dossiers"] == 5  # B05 was only received (its letter) so far
    assert all(p["applied"] == p["end"] for p in status["partitions"])

    # The reference data fixed (the worker restarted with the full catalog): resent once
    # and the figures are exactly the hand-worked ones, orphans applied.
    stop_workers(env)
    del env.extra["TTHC_PROCEDURES"]
    shown = json.loads(env.cli("dlq", "show", "3", "--json").stdout)
    assert shown["now"] == "valid"
    env.start_worker(tmp_path)
    resent = env.cli("dlq", "resend", "--all")
    assert f"resent {len(refused_ids)} events" in resent.stderr
    wait_applied(env)
    stats = env.stats()
    assert stats["applied"] == len(events)
    for period in PERIODS:
        check(snapshot(env, period, tmp_path), period, registry, {})

    # Again: every event id is known, nothing changes but the duplicates count.
    env.cli("dlq", "resend", "0", "5")
    wait_applied(env)
    again = env.stats()
    assert again["applied"] == len(events)
    assert again["duplicates"] == stats.get("duplicates", 0) + 2
    status = json.loads(env.cli("status", "--json").stdout)
    assert status["orphan_dossiers"] == 0 and status["orphan_events"] == 0
    assert status["last_event_at"] is not None and status["last_event_age_seconds"] > 0
    text = env.cli("status").stdout
    assert "Kafka (" in text and "kết nối được" in text
    assert "Thư lỗi" in text and "6 bản ghi trong topic" in text
