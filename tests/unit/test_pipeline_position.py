"""Where a message is: the progress field built in one place, and log-line wording."""

from __future__ import annotations

from tthc_monitor.pipeline import Position, source_key


def test_a_partition_is_named_topic_colon_partition() -> None:
    assert source_key("dossier-events", 3) == "dossier-events:3"
    kafka = Position("dossier-events", 3, 41)
    assert kafka.source == "dossier-events:3"
    assert kafka.where == "dossier-events:3:41"
    assert kafka.describe() == "topic dossier-events partition 3 offset 41"


def test_a_file_line_is_named_file_colon_line() -> None:
    line = Position.line("month.jsonl", 12)
    assert line.source == "month.jsonl"
    assert line.where == "month.jsonl:12"
    assert line.describe() == "month.jsonl:12"
