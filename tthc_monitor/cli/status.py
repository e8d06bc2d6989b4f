"""``tthc-monitor status``: is the pipeline healthy, in one screen for the operator.

Broker and Redis reachable (their addresses, the password masked); per partition of the
events topic its end offset, the worker group's committed offset, the offset the store
has applied and the lag (end - committed, as Kafka tools and the operations dashboard
count it); the latest event applied and its age (``{ns}:freshness``, the wall's own
figure); dead letters (records in the dead-letter topic and the worker's count); orphans.

Operator text is Vietnamese; ``--json`` gives the same facts for scripts. Exit 0 when
both services answer, else the code of the first failure (69 unreachable, 2 refused
credentials or TLS: tthc_monitor/cli/errors.py).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import kafka.errors
import redis
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

from tthc_monitor.cli.common import settings_from
from tthc_monitor.cli.errors import OK, explain, one_line
from tthc_monitor.config import Settings
from tthc_monitor.connections import kafka_python_config, mask_url
from tthc_monitor.core.periods import LOCAL_TZ
from tthc_monitor.kafka_admin import checked_end_offsets
from tthc_monitor.pipeline.position import source_key
from tthc_monitor.report.vnformat import format_int
from tthc_monitor.store.freshness import read_freshness
from tthc_monitor.store.keys import Keys

KAFKA_TIMEOUT_MS = 5000
"""How long the broker has to answer the bootstrap: a status must come back quickly
(kafka-python's default is 30 s)."""
REDIS_TIMEOUT = 5.0
NOT_SET = "chưa cấu hình"


@dataclass
class Service:
    name: str
    address: str
    reachable: bool = False
    error: str | None = None
    code: int = OK
    """The exit code of the failure (tthc_monitor/cli/errors.py); OK when it answered."""


@dataclass
class PartitionLag:
    partition: int
    end: int
    committed: int | None
    """The worker group's committed offset; None before its first commit."""
    applied: int
    """The store's recorded progress (``{ns}:progress``): the next offset to apply."""
    lag: int
    """end - committed (end when nothing is committed)."""


@dataclass
class Status:
    kafka: Service
    redis: Service
    topic: str
    group: str
    partitions: list[PartitionLag] = field(default_factory=list)
    group_note: str | None = None
    """Why the group's committed offsets are unknown, when they are."""
    last_event_at: str | None = None
    last_applied_at: str | None = None
    last_event_age_seconds: float | None = None
    dead_letter_topic: str = ""
    dead_letters_in_topic: int | None = None
    dead_letters_counted: int | None = None
    orphan_dossiers: int | None = None
    orphan_events: int | None = None

    @property
    def code(self) -> int:
        failed = [s.code for s in (self.kafka, self.redis) if not s.reachable]
        return failed[0] if failed else OK

    @property
    def total_lag(self) -> int:
        return sum(p.lag for p in self.partitions)


def read_kafka(settings: Settings, status: Status) -> dict[int, int | None]:
    """Fill the Kafka part: reachable, dead letters in the topic. Returns the end and
    committed offsets per partition of the events topic (committed first, ends apart)."""
    security = kafka_python_config(settings)
    bootstrap = settings.require_kafka()
    admin = KafkaAdminClient(
        bootstrap_servers=bootstrap,
        client_id="tthc-status",
        bootstrap_timeout_ms=KAFKA_TIMEOUT_MS,
        request_timeout_ms=2 * KAFKA_TIMEOUT_MS,
        **security,
    )
    try:
        topics = set(admin.list_topics())
        try:
            group = settings.consumer_group
            committed_raw = admin.list_group_offsets({group: None}).get(group, {})
        except kafka.errors.BrokerResponseError as error:
            # The broker answers, but not for the group: no coordinator yet (a group that
            # never committed, a fresh cluster) or an old broker. Lag counts from 0.
            committed_raw = {}
            status.group_note = one_line(error)
    finally:
        admin.close()
    status.kafka.reachable = True
    committed: dict[int, int | None] = {}
    if settings.topic in topics:
        for tp, meta in committed_raw.items():
            if tp.topic == settings.topic and meta.offset >= 0:
                committed[tp.partition] = meta.offset
    if settings.dlq_topic in topics:
        status.dead_letters_in_topic = records_in(settings, settings.dlq_topic)
    return committed


def records_in(settings: Settings, topic: str) -> int:
    """Records a topic retains: the sum of (end - first) over its partitions."""
    security = kafka_python_config(settings)
    ends = checked_end_offsets(settings.require_kafka(), topic, security=security)
    consumer = KafkaConsumer(
        bootstrap_servers=settings.require_kafka(),
        client_id="tthc-status",
        bootstrap_timeout_ms=KAFKA_TIMEOUT_MS,
        **security,
    )
    try:
        firsts = consumer.beginning_offsets([TopicPartition(topic, p) for p in ends])
    finally:
        consumer.close()
    return sum(ends[tp.partition].end - first for tp, first in firsts.items())


def read_redis(settings: Settings, status: Status) -> dict[str, int]:
    """Fill the Redis part; returns the recorded progress per ``topic:partition``."""
    client = redis.Redis.from_url(
        settings.require_redis(),
        decode_responses=True,
        socket_connect_timeout=REDIS_TIMEOUT,
        socket_timeout=REDIS_TIMEOUT,
    )
    keys = Keys(settings.namespace)
    try:
        client.ping()
        status.redis.reachable = True
        progress = {str(k): int(v) for k, v in client.hgetall(keys.progress).items()}
        stats = client.hmget(keys.stats, ["dead_letters"])
        orphans = client.hmget(keys.counters("all"), ["|orphan_dossiers", "|orphan_events"])
        freshness = read_freshness(client, settings.namespace)
    finally:
        client.close()
    status.dead_letters_counted = int(stats[0] or 0)
    status.orphan_dossiers = int(orphans[0] or 0)
    status.orphan_events = int(orphans[1] or 0)
    if freshness.event_at is not None:
        status.last_event_at = freshness.event_at.isoformat()
        now = datetime.now(LOCAL_TZ)
        status.last_event_age_seconds = round(
            max(0.0, (now - freshness.event_at).total_seconds()), 1
        )
    if freshness.applied_at is not None:
        status.last_applied_at = freshness.applied_at.isoformat()
    return progress


def gather(settings: Settings) -> Status:
    """Ask both services; a failure of one is recorded, the other is still asked."""
    status = Status(
        kafka=Service("Kafka", settings.kafka_bootstrap or NOT_SET),
        redis=Service("Redis", mask_url(settings.redis_url) if settings.redis_url else NOT_SET),
        topic=settings.topic,
        group=settings.consumer_group,
        dead_letter_topic=settings.dlq_topic,
    )
    committed: dict[int, int | None] = {}
    progress: dict[str, int] = {}
    ends: dict[int, int] = {}
    try:
        committed = read_kafka(settings, status)
        ends = {
            p: found.end
            for p, found in checked_end_offsets(
                settings.require_kafka(), settings.topic, security=kafka_python_config(settings)
            ).items()
        }
    except (Exception, SystemExit) as error:
        fail(status.kafka, error, settings)
    try:
        progress = read_redis(settings, status)
    except (Exception, SystemExit) as error:
        fail(status.redis, error, settings)
    for p in sorted(ends):
        done = committed.get(p)
        status.partitions.append(
            PartitionLag(
                partition=p,
                end=ends[p],
                committed=done,
                applied=progress.get(source_key(settings.topic, p), 0),
                lag=max(0, ends[p] - (done or 0)),
            )
        )
    return status


def fail(service: Service, error: BaseException, settings: Settings) -> None:
    """Record why a service could not be used; an error errors.py does not know is a
    bug and propagates."""
    explained = explain(error, settings)
    if explained is None:
        raise error
    service.reachable = False
    service.error = explained.message
    service.code = explained.code


def age_text(seconds: float) -> str:
    """``3 ngày 4 giờ``, ``2 giờ 5 phút``, ``12 phút``, ``40 giây``."""
    total = int(seconds)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{format_int(days)} ngày {hours} giờ"
    if hours:
        return f"{hours} giờ {minutes} phút"
    if minutes:
        return f"{minutes} phút"
    return f"{secs} giây"


def when_text(iso: str) -> str:
    return datetime.fromisoformat(iso).astimezone(LOCAL_TZ).strftime("%d/%m/%Y %H:%M:%S")


def render(status: Status) -> str:
    """The operator's text, in Vietnamese."""
    lines = []
    for service in (status.kafka, status.redis):
        state = "kết nối được" if service.reachable else f"KHÔNG dùng được: {service.error}"
        lines.append(f"{service.name} ({service.address}): {state}")
    if status.kafka.reachable:
        lines.append(
            f"Độ trễ của nhóm {status.group} trên {status.topic}: "
            f"{format_int(status.total_lag)} sự kiện chưa xử lý"
        )
        if status.group_note:
            lines.append(f"  (không đọc được offset đã commit của nhóm: {status.group_note})")
        if status.partitions:
            lines.append("  phân vùng   cuối   đã commit   đã áp dụng   độ trễ")
        for p in status.partitions:
            committed = "-" if p.committed is None else format_int(p.committed)
            lines.append(
                f"  {p.partition:>9}  {format_int(p.end):>6}  {committed:>10}  "
                f"{format_int(p.applied):>11}  {format_int(p.lag):>7}"
            )
        if not status.partitions:
            lines.append(f"  (chưa có topic {status.topic})")
    if status.redis.reachable:
        if status.last_event_at and status.last_event_age_seconds is not None:
            applied = (
                f", ghi lúc {when_text(status.last_applied_at)}" if status.last_applied_at else ""
            )
            lines.append(
                f"Sự kiện mới nhất đã áp dụng: {when_text(status.last_event_at)} "
                f"(cách đây {age_text(status.last_event_age_seconds)}{applied})"
            )
        else:
            lines.append("Sự kiện mới nhất đã áp dụng: chưa có")
        lines.append(
            f"Hồ sơ mồ côi (chưa có sự kiện tiếp nhận): {format_int(status.orphan_dossiers or 0)}"
            f" hồ sơ, {format_int(status.orphan_events or 0)} sự kiện đang giữ"
        )
    letters = []
    if status.dead_letters_in_topic is not None:
        letters.append(f"{format_int(status.dead_letters_in_topic)} bản ghi trong topic")
    if status.dead_letters_counted is not None:
        letters.append(f"worker đã đếm {format_int(status.dead_letters_counted)}")
    if letters:
        lines.append(
            f"Thư lỗi ({status.dead_letter_topic}): {', '.join(letters)}"
            + (" — xem: tthc-monitor dlq list" if status.dead_letters_in_topic else "")
        )
    return "\n".join(lines) + "\n"


def as_json(status: Status) -> dict[str, Any]:
    document = asdict(status)
    document["total_lag"] = status.total_lag
    document["ok"] = status.code == OK
    return document


def run(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    status = gather(settings)
    if args.json:
        print(json.dumps(as_json(status), ensure_ascii=False, indent=2))
    else:
        print(render(status), end="")
    if status.code != OK:
        failed = [s for s in (status.kafka, status.redis) if not s.reachable]
        # The reason is on stdout with the rest; stderr gets the one line scripts read.
        print(
            "tthc-monitor: " + one_line("; ".join(f"{s.name}: {s.error}" for s in failed)),
            file=sys.stderr,
        )
    return status.code
