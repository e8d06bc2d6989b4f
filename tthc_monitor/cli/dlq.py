"""``tthc-monitor dlq list|show|resend``: the dead-letter topic, for operators.

The worker writes one record per refused message (streams/dead_letters.py): headers
``tthc-reason``, ``tthc-field``, ``tthc-event-id``, ``tthc-source``
(``topic:partition:offset`` of the original), ``tthc-sha256`` (of the original bytes)
and ``tthc-payload``; with ``TTHC_DLQ_PAYLOAD=reference`` (the default) the value is a
JSON reference and no byte of the original, with ``copy`` the original bytes.

* ``list``: offset, time, event id and reason of each letter; never a payload.
* ``show N``: one letter, whether its original can still be read (from the letter with
  ``copy``, else from the source topic while it retains it, checked against the sha256)
  and what the contract says of it now, with the reference data given.
* ``resend N... | --all``: the originals, validated as ``publish`` validates (an invalid
  one refuses the lot unless ``--skip-invalid``), then published to the events topic
  keyed by dossier. Run it after fixing the reference data (the worker's too); events
  already applied are recognised by their event_id and change nothing.

A letter is named by its offset in the dead-letter topic (``P:N`` if that topic has more
than one partition; the project creates it with one).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from tthc_monitor.cli import publish
from tthc_monitor.cli.common import add_common, settings_from
from tthc_monitor.cli.errors import FAILED, CommandError
from tthc_monitor.config import Settings
from tthc_monitor.connections import kafka_python_config
from tthc_monitor.core.periods import LOCAL_TZ
from tthc_monitor.ingest import Rejection, decode
from tthc_monitor.kafka_admin import end_offsets

FETCH_SECONDS = 15.0
"""How long a read of a topic range may take before the command gives up."""


@dataclass(frozen=True)
class Letter:
    partition: int
    offset: int
    timestamp_ms: int
    reason: str
    field: str | None
    event_id: str | None
    source: str
    """``topic:partition:offset`` of the original message."""
    sha256: str
    payload: str
    """``reference`` or ``copy`` (what the worker was told to keep)."""
    copy: bytes | None
    """The original bytes, kept only with ``copy``."""

    @property
    def name(self) -> str:
        return str(self.offset) if self.partition == 0 else f"{self.partition}:{self.offset}"

    @property
    def time(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp_ms / 1000, LOCAL_TZ)

    def summary(self) -> dict[str, Any]:
        """What ``list`` shows: no payload, no key."""
        return {
            "partition": self.partition,
            "offset": self.offset,
            "time": self.time.isoformat(),
            "event_id": self.event_id,
            "reason": self.reason,
            "field": self.field,
            "source": self.source,
        }


def letter_of(record: Any) -> Letter:
    headers = {name: value.decode("utf-8", errors="replace") for name, value in record.headers}
    payload = headers.get("tthc-payload", "reference")
    reference: dict[str, Any] = {}
    if payload != "copy":
        try:
            reference = json.loads(record.value or b"{}")
        except ValueError:
            reference = {}
    return Letter(
        partition=record.partition,
        offset=record.offset,
        timestamp_ms=record.timestamp,
        reason=headers.get("tthc-reason") or str(reference.get("reason", "")),
        field=headers.get("tthc-field") or reference.get("field") or None,
        event_id=headers.get("tthc-event-id") or reference.get("event_id") or None,
        source=headers.get("tthc-source", ""),
        sha256=headers.get("tthc-sha256", ""),
        payload=payload,
        copy=record.value if payload == "copy" else None,
    )


def consumer_for(settings: Settings) -> KafkaConsumer:
    return KafkaConsumer(
        bootstrap_servers=settings.require_kafka(),
        client_id="tthc-dlq",
        enable_auto_commit=False,
        fetch_max_wait_ms=100,
        **kafka_python_config(settings),
    )


def read_letters(settings: Settings) -> list[Letter]:
    """Every letter the dead-letter topic retains, in offset order."""
    ends = end_offsets(
        settings.require_kafka(), settings.dlq_topic, security=kafka_python_config(settings)
    )
    consumer = consumer_for(settings)
    try:
        tps = [TopicPartition(settings.dlq_topic, p) for p, end in ends.items() if end]
        if not tps:
            return []
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        letters: list[Letter] = []
        remaining = {tp for tp in tps if consumer.position(tp) < ends[tp.partition]}
        deadline = time.monotonic() + FETCH_SECONDS
        while remaining:
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{settings.dlq_topic}: not every letter read within {FETCH_SECONDS:.0f} s"
                )
            for tp, records in consumer.poll(timeout_ms=500).items():
                letters += [letter_of(r) for r in records if r.offset < ends[tp.partition]]
                if consumer.position(tp) >= ends[tp.partition]:
                    remaining.discard(tp)
        return sorted(letters, key=lambda x: (x.partition, x.offset))
    finally:
        consumer.close()


def fetch_record(consumer: KafkaConsumer, topic: str, partition: int, offset: int) -> Any:
    """The record at ``offset``, or None when the topic no longer holds it."""
    tp = TopicPartition(topic, partition)
    consumer.assign([tp])
    if offset < consumer.beginning_offsets([tp]).get(tp, 0):
        return None  # retention deleted it
    consumer.seek(tp, offset)
    deadline = time.monotonic() + FETCH_SECONDS
    while time.monotonic() < deadline:
        for record in consumer.poll(timeout_ms=500).get(tp, []):
            if record.offset == offset:
                return record
            if record.offset > offset:
                return None  # the broker has no record there (deleted or compacted)
    return None


@dataclass(frozen=True)
class Original:
    letter: Letter
    raw: bytes | None
    """The original bytes, None when they can no longer be read."""
    why_missing: str = ""


def originals(settings: Settings, letters: Sequence[Letter]) -> list[Original]:
    """Each letter's original message: from the letter (``copy``) or from the source
    topic (``reference``), checked against the letter's sha256."""
    found: list[Original] = []
    consumer = consumer_for(settings)
    try:
        for letter in letters:
            raw = letter.copy
            if raw is None:
                topic, partition, offset = parse_source(letter)
                record = fetch_record(consumer, topic, partition, offset)
                if record is None:
                    found.append(
                        Original(letter, None, f"{letter.source} is no longer in the topic")
                    )
                    continue
                raw = record.value or b""
            if letter.sha256 and hashlib.sha256(raw).hexdigest() != letter.sha256:
                found.append(
                    Original(letter, None, f"{letter.source} holds other bytes (sha256 differs)")
                )
                continue
            found.append(Original(letter, raw))
    finally:
        consumer.close()
    return found


def parse_source(letter: Letter) -> tuple[str, int, int]:
    try:
        topic, partition, offset = letter.source.rsplit(":", 2)
        return topic, int(partition), int(offset)
    except ValueError:
        raise CommandError(
            f"dead letter {letter.name}: no readable tthc-source header ({letter.source!r})"
        ) from None


def letter_name(text: str) -> tuple[int, int]:
    """``N`` (partition 0) or ``P:N`` -> (partition, offset); an argparse type."""
    partition, _, offset = text.rpartition(":")
    try:
        parsed = (int(partition or 0), int(offset))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a dead letter: give its offset, as `dlq list` shows it"
        ) from None
    if min(parsed) < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: offsets are not negative")
    return parsed


def select(letters: list[Letter], names: Sequence[tuple[int, int]]) -> list[Letter]:
    by_name = {(x.partition, x.offset): x for x in letters}
    missing = [f"{p}:{o}" if p else str(o) for p, o in names if (p, o) not in by_name]
    if missing:
        raise CommandError(
            f"no dead letter at offset {', '.join(missing)} in the dead-letter topic "
            "(see tthc-monitor dlq list)",
            FAILED,
        )
    return [by_name[n] for n in names]


def run_list(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    letters = read_letters(settings)
    if args.json:
        print(json.dumps([x.summary() for x in letters], ensure_ascii=False, indent=2))
        return 0
    print("offset\tthời điểm\tevent_id\tlý do")
    for x in letters:
        when = x.time.strftime("%d/%m/%Y %H:%M:%S")
        print(f"{x.name}\t{when}\t{x.event_id or '-'}\t{x.reason}")
    print(f"{len(letters)} thư lỗi trong {settings.dlq_topic}", file=sys.stderr)
    return 0


def verdict(settings: Settings, original: Original) -> tuple[str, str | None]:
    """("valid" | "invalid" | "unavailable", the reason when not valid), with the
    reference data of these settings."""
    if original.raw is None:
        return "unavailable", original.why_missing
    decoded = decode(original.raw, settings.engine)
    if isinstance(decoded, Rejection):
        return "invalid", decoded.describe()
    return "valid", None


def run_show(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    (letter,) = select(read_letters(settings), [args.letter])
    (original,) = originals(settings, [letter])
    state, why = verdict(settings, original)
    document = letter.summary() | {
        "sha256": letter.sha256,
        "payload_kept": letter.payload,
        "original": "available" if original.raw is not None else original.why_missing,
        "now": state,
        "now_reason": why,
    }
    if args.json:
        print(json.dumps(document, ensure_ascii=False, indent=2))
        return 0
    now = {
        "valid": "hợp lệ với dữ liệu tham chiếu hiện tại: có thể gửi lại (dlq resend)",
        "invalid": f"vẫn không hợp lệ: {why}",
        "unavailable": f"không đọc được bản gốc: {why}",
    }[state]
    print(
        f"Thư lỗi {letter.name} ({settings.dlq_topic})\n"
        f"  thời điểm:  {letter.time.strftime('%d/%m/%Y %H:%M:%S')}\n"
        f"  event_id:   {letter.event_id or '-'}\n"
        f"  lý do:      {letter.reason}\n"
        f"  trường:     {letter.field or '-'}\n"
        f"  bản gốc:    {letter.source} (sha256 {letter.sha256[:16]}…, lưu: {letter.payload})\n"
        f"  hiện nay:   {now}"
    )
    return 0


def run_resend(args: argparse.Namespace) -> int:
    if not args.all and not args.letters:
        raise CommandError("name the letters to resend (their offsets) or give --all")
    if args.all and args.letters:
        raise CommandError("give offsets or --all, not both")
    settings = settings_from(args)
    settings.engine  # noqa: B018 - load the reference data before reading anything
    letters = read_letters(settings)
    chosen = letters if args.all else select(letters, args.letters)
    messages: list[tuple[bytes, bytes]] = []
    refused = 0
    for original in originals(settings, chosen):
        state, why = verdict(settings, original)
        if state != "valid" or original.raw is None:
            refused += 1
            print(f"{settings.dlq_topic}:{original.letter.name}: {why}", file=sys.stderr)
            continue
        decoded = decode(original.raw, settings.engine)
        assert not isinstance(decoded, Rejection)  # verdict said valid
        messages.append((decoded.dossier_id.encode("utf-8"), original.raw))
    if refused and not args.skip_invalid:
        raise CommandError(
            f"{refused} dead letter(s) cannot be resent: nothing resent (fix the reference "
            f"data, or use --skip-invalid to resend the {len(messages)} valid ones)"
        )
    elapsed = publish.send(settings, messages, settings.topic)
    print(
        f"resent {len(messages)} events to {settings.topic} in {elapsed:.2f} s"
        + (f" ({refused} skipped)" if refused else ""),
        file=sys.stderr,
    )
    return 0


def add_parser(commands: Any) -> None:
    """``dlq`` and its three subcommands, on the main parser's subparsers."""
    p = commands.add_parser("dlq", help="dead letters: list, show, resend")
    sub = p.add_subparsers(dest="dlq_command", required=True, metavar="ACTION")
    q = sub.add_parser("list", help="every letter: offset, time, event id, reason")
    q.add_argument("--json", action="store_true", help="print JSON")
    q.set_defaults(run=run_list)
    add_common(q)
    q = sub.add_parser("show", help="one letter, and whether it would be valid now")
    q.add_argument("letter", type=letter_name, help="its offset (see dlq list)")
    q.add_argument("--json", action="store_true", help="print JSON")
    q.set_defaults(run=run_show)
    add_common(q)
    q = sub.add_parser(
        "resend", help="validate the originals and publish them again to the events topic"
    )
    q.add_argument("letters", nargs="*", type=letter_name, help="offsets (see dlq list)")
    q.add_argument("--all", action="store_true", help="every letter the topic retains")
    q.add_argument(
        "--skip-invalid",
        action="store_true",
        help="resend the valid ones even when some are still invalid or unavailable",
    )
    q.set_defaults(run=run_resend)
    add_common(q)
