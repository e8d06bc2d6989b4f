"""Deadline alerts end to end: Kafka -> worker -> Redis timers -> sweeper -> dossier-alerts.

Real worker processes run on a fake clock (``TTHC_CLOCK_FILE``, test only) that the
test moves from one event arrival to the next, so weeks of deadlines pass in seconds.
What reaches ``dossier-alerts`` must be exactly what ``tthc-monitor alerts plan`` gives
for the whole stream, each alert once, whether a worker is killed (SIGKILL) in the
middle or two workers share the partitions.

The scenario: Tết 2022 (31/1-4/2 off), a clock stop, an extension, two inter-agency
stages, events arriving late (a resolution before the next alert, a receipt after its
due_today moment), and the compensatory working Saturday 10/1/2026.
"""

from __future__ import annotations

import json
import signal
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from tests.eventkit import raw, ts
from tests.integration.conftest import Env
from tthc_monitor.core.schedule import epoch
from tthc_monitor.kafka_admin import end_offsets

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

JUSTICE = "qt.so-tu-phap.002"
LAND = "1.004227"
SO = "so-tu-phap"
XA = "xa-cam-lo"
VP = "cn-vpdkdd-cam-lo"
# 2026: the 2022 units ended on 30 June 2025; a commune of the merged province.
COMMUNE = "xa-19741"
COMMUNE_PROCEDURE = "qt.cap-xa.015"


def at(value: str) -> datetime:
    return datetime.fromisoformat(ts(value))


def received(d: str, when: str, unit: str, procedure: str, due: str) -> dict[str, Any]:
    return raw("received", d, when, unit, procedure_id=procedure, channel="direct", due_at=due)


def scenario() -> list[tuple[datetime, dict[str, Any]]]:
    """(arrival, event): an event arrives when it happens unless said otherwise."""
    events: list[tuple[str | None, dict[str, Any]]] = [
        # Resolved in time across Tết: due_soon on Fri 28/1, due_today on Mon 7/2.
        (None, received("A1", "2022-01-26 09:00", SO, JUSTICE, "2022-02-07 17:00")),
        (None, raw("resolved", "A1", "2022-02-07 15:00", SO)),
        # A clock stop over Tết moves the due; never resolved: overdue, apology_missing.
        (None, received("A2", "2022-01-27 10:00", SO, JUSTICE, "2022-02-08 17:00")),
        (None, raw("supplement_requested", "A2", "2022-01-27 14:00", SO)),
        (None, raw("supplemented", "A2", "2022-02-09 10:00", SO)),
        # Extended after its due_soon fired: the new due starts afresh.
        (None, received("A3", "2022-01-25 08:00", SO, JUSTICE, "2022-01-28 17:00")),
        (None, raw("extended", "A3", "2022-01-27 16:00", SO, new_due_at="2022-02-09 17:00")),
        (None, raw("resolved", "A3", "2022-02-09 11:00", SO)),
        # Two inter-agency stages; the first is late (alerts to the holder).
        (None, received("L1", "2022-01-24 08:00", XA, LAND, "2022-02-25 17:00")),
        (
            None,
            raw(
                "transferred",
                "L1",
                "2022-01-24 10:00",
                XA,
                to_unit_id=VP,
                stage_due_at="2022-02-07 17:00",
            ),
        ),
        (None, raw("transferred", "L1", "2022-02-08 09:00", VP, to_unit_id=XA)),
        (
            None,
            raw(
                "transferred",
                "L1",
                "2022-02-09 09:00",
                XA,
                to_unit_id=VP,
                stage_due_at="2022-02-11 17:00",
            ),
        ),
        (None, raw("apologized", "L1", "2022-02-09 10:00", VP)),
        (None, raw("transferred", "L1", "2022-02-10 15:00", VP, to_unit_id=XA)),
        (None, raw("resolved", "L1", "2022-02-14 10:00", XA)),
        # Resolved on 7/2 but known only that evening: cancels due_today 8/2 and after.
        (None, received("A5", "2022-01-26 08:00", SO, JUSTICE, "2022-02-08 17:00")),
        ("2022-02-07 20:00", raw("resolved", "A5", "2022-02-07 16:00", SO)),
        # Received at 09:00 due the same day, known at 11:00: due_today fires late.
        ("2022-02-07 11:00", received("A6", "2022-02-07 09:00", SO, JUSTICE, "2022-02-07 17:00")),
        # The compensatory working Saturday 10/1/2026.
        (None, received("B1", "2026-01-08 09:00", COMMUNE, COMMUNE_PROCEDURE, "2026-01-12 17:00")),
        (None, raw("resolved", "B1", "2026-01-12 10:00", COMMUNE)),
        (None, received("B2", "2026-01-08 09:30", COMMUNE, COMMUNE_PROCEDURE, "2026-01-10 17:00")),
        (None, raw("resolved", "B2", "2026-01-10 16:00", COMMUNE)),
    ]
    out = [(at(arrival) if arrival else at(e["occurred_at"]), e) for arrival, e in events]
    return sorted(out, key=lambda pair: pair[0])


class Run:
    """The fake clock, the producer and the checks of one test."""

    def __init__(self, env: Env, tmp_path: Path) -> None:
        self.env = env
        self.clock = tmp_path / "clock"
        self.set_clock(at("2022-01-20 08:00"))
        env.extra.update(
            TTHC_CLOCK_FILE=str(self.clock),
            TTHC_ALERTS_TOPIC=self.topic,
            TTHC_ALERT_LEASE_SECONDS="3",
            TTHC_ALERT_SWEEP_SECONDS="0.2",
        )
        self.producer = KafkaProducer(bootstrap_servers=env.services.kafka, acks="all")
        self.redis = env.redis()
        self.published = 0

    @property
    def topic(self) -> str:
        return f"alerts-{self.env.tag}"

    def set_clock(self, now: datetime) -> None:
        self.now = now
        self.clock.write_text(now.isoformat())

    def publish(self, events: list[dict[str, Any]]) -> None:
        for event in events:
            self.producer.send(
                self.env.topic, key=event["dossier_id"].encode(), value=json.dumps(event).encode()
            )
        self.producer.flush()
        self.published += len(events)

    def settle(self, timeout: float = 90) -> None:
        """Until every event is applied and every alert due by the clock is delivered."""
        ns = self.env.namespace
        # Progress offsets, not counts: after a kill, redelivered events are counted as
        # duplicates and would make a count reach the total before the new ones applied.
        targets = {
            p: e for p, e in end_offsets(self.env.services.kafka, self.env.topic).items() if e
        }
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            progress = self.redis.hgetall(f"{ns}:progress")
            applied = all(
                int(progress.get(f"{self.env.topic}:{p}", 0)) >= end for p, end in targets.items()
            )
            due = self.redis.zcount(f"{ns}:timers", "-inf", epoch(self.now))
            waiting = self.redis.llen(f"{ns}:alerts:outbox:kafka") + self.redis.zcard(
                f"{ns}:alerts:sending:kafka"
            )
            if applied and not due and not waiting:
                return
            self.env.check_workers()
            time.sleep(0.05)
        raise AssertionError(f"not settled at {self.now}: {self.env.stats()}\n{self.env.tail()}")

    def sent(self) -> list[dict[str, Any]]:
        consumer = KafkaConsumer(
            bootstrap_servers=self.env.services.kafka, enable_auto_commit=False
        )
        parts = [TopicPartition(self.topic, p) for p in consumer.partitions_for_topic(self.topic)]
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        ends = consumer.end_offsets(parts)
        out: list[dict[str, Any]] = []
        while any(consumer.position(p) < ends[p] for p in parts):
            for records in consumer.poll(timeout_ms=1000).values():
                out.extend(json.loads(r.value) for r in records)
        consumer.close()
        return out

    def expected(self, tmp_path: Path, stream: list[dict[str, Any]]) -> list[dict[str, Any]]:
        source = tmp_path / "stream.jsonl"
        source.write_text("".join(json.dumps(e) + "\n" for e in stream))
        out = tmp_path / "plan.json"
        self.env.cli(
            "alerts",
            "plan",
            str(source),
            "--from",
            "2022-01-01T00:00:00+07:00",
            "--to",
            "2026-12-31T00:00:00+07:00",
            "--json",
            str(out),
        )
        plan: list[dict[str, Any]] = json.loads(out.read_text())
        return plan


def key(alert: dict[str, Any]) -> tuple[str, str, str, str, str, datetime, datetime]:
    return (
        alert["alert_id"],
        alert["level"],
        alert["dossier_id"],
        alert["unit_id"],
        alert["stage"],
        datetime.fromisoformat(alert["fire_at"]),
        datetime.fromisoformat(alert["due_at"]),
    )


def check_digest(run: Run, tmp_path: Path) -> None:
    """Monday 7/2/2022 after Tết: the justice department's and the land office's view."""
    out = tmp_path / "digest.json"
    text = run.env.cli("digest", "--unit", SO, "--date", "2022-02-07", "--json", str(out)).stdout
    digest = json.loads(out.read_text())
    ids = {k: [r["dossier_id"] for r in digest[k]] for k in ("due_today", "due_next_working_day")}
    # A2 is paused (clock stop): neither due nor overdue. A5's resolution is not known yet.
    assert ids == {"due_today": ["A1", "A6"], "due_next_working_day": ["A5"]}
    assert digest["overdue"] == [] and digest["next_working_day"] == "2022-02-08"
    assert "Hồ sơ đến hạn hôm nay: 2" in text and "Hồ sơ quá hạn: 0" in text
    assert "Hồ sơ đến hạn ngày làm việc tiếp theo (08/02/2022): 1" in text
    land = run.env.cli("digest", "--unit", VP, "--date", "2022-02-07", "--json", "-").stdout
    assert "L1 (liên thông), hạn 17:00 07/02/2022" in land


def play(run: Run, tmp_path: Path, *, kill_after: int | None = None) -> None:
    """Move the clock from arrival to arrival, publishing what arrives; optionally kill
    the (single) worker after that many arrivals and restart it later."""
    arrivals = scenario()
    moments = sorted({when for when, _ in arrivals})
    for n, moment in enumerate(moments):
        run.set_clock(moment)
        run.publish([e for when, e in arrivals if when == moment])
        run.settle()
        if moment == at("2022-02-07 11:00"):
            check_digest(run, tmp_path)
        if n == kill_after:
            worker = run.env.workers[0]
            worker.send_signal(signal.SIGKILL)
            worker.wait()
            # Alerts fall due while nobody runs: they must fire on restart, once.
            nxt = moments[n + 1]
            missed = run.redis.zcount(f"{run.env.namespace}:timers", "-inf", epoch(nxt) - 1)
            assert missed, "the kill should span some due alerts"
            run.set_clock(datetime.fromtimestamp(epoch(nxt) - 1, moment.tzinfo))
            run.env.start_worker(tmp_path)
            run.settle(timeout=120)
    # Between the two eras, and after the last event: everything due has fired.
    run.set_clock(at("2026-03-01 08:00"))
    run.settle()
    sent = run.sent()
    counts = Counter(a["alert_id"] for a in sent)
    assert [i for i, c in counts.items() if c > 1] == [], "an alert was sent twice"
    expected = run.expected(tmp_path, [e for _, e in arrivals])
    assert sorted(map(key, sent)) == sorted(map(key, expected))
    levels = Counter(a["level"] for a in expected)
    assert levels["due_soon"] and levels["overdue"] and levels["apology_missing"]
    assert any(a["stage"] == "interagency" for a in expected)
    fired = {k: int(v) for k, v in run.env.stats().items() if k.startswith("alerts_fired:")}
    assert fired == {f"alerts_fired:{level}": n for level, n in levels.items()}


def test_alerts_fire_once_across_a_kill_and_restart(env: Env, tmp_path: Path) -> None:
    run = Run(env, tmp_path)
    env.start_worker(tmp_path)
    play(run, tmp_path, kill_after=7)


def test_two_workers_fire_each_alert_once(env: Env, tmp_path: Path) -> None:
    run = Run(env, tmp_path)
    env.start_worker(tmp_path)
    env.start_worker(tmp_path)
    play(run, tmp_path)


def test_webhook_gets_each_alert_despite_failures(env: Env) -> None:
    """In process: the store schedules, the sweeper fires on a fake clock, and the
    webhook, failing at first, gets every alert (retried with backoff) in order."""
    import asyncio

    from aiohttp import web
    from redis.asyncio import Redis

    from schemas.events import parse_event
    from tthc_monitor.alerting.sinks import WebhookSink
    from tthc_monitor.alerting.sweeper import Sweeper
    from tthc_monitor.config import Settings
    from tthc_monitor.store.alert_store import AlertStore
    from tthc_monitor.store.redis_store import DossierStore, Incoming

    now = [at("2022-03-21 09:00")]
    got: list[dict[str, Any]] = []
    calls = [0]

    async def hook(request: web.Request) -> web.Response:
        calls[0] += 1
        if calls[0] <= 2:
            return web.Response(status=503)
        got.append(await request.json())
        return web.Response(status=204)

    async def scenario() -> None:
        server = web.Application()
        server.router.add_post("/alerts", hook)
        runner = web.AppRunner(server)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        redis = Redis.from_url(env.services.redis_url, decode_responses=True)
        engine = Settings().engine
        store = DossierStore(redis, engine, env.namespace, lambda: now[0])
        sink = WebhookSink(f"http://127.0.0.1:{port}/alerts", first_delay=0.01)
        sweeper = Sweeper(
            AlertStore(redis, env.namespace, ["webhook"]), [sink], lambda: now[0], lease=5
        )
        try:
            event = received("W1", "2022-03-21 09:00", SO, JUSTICE, "2022-03-24 17:00")
            await store.apply([Incoming(parse_event(json.dumps(event)))])
            for moment in ("2022-03-23 08:00", "2022-03-24 08:00", "2022-03-25 08:00"):
                now[0] = at(moment)
                await sweeper.tick()
            assert (await sweeper.tick()).claimed == 0
        finally:
            await sink.close()
            await redis.aclose()
            await runner.cleanup()

    asyncio.run(scenario())
    assert [a["level"] for a in got] == ["due_soon", "due_today", "overdue", "apology_missing"]
    assert calls[0] == 6
