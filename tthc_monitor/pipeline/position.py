"""Where a message came from: a Kafka partition's offset, or a file's line.

The progress field of a partition (``"{topic}:{partition}"``) is built here and only
here: the worker, ``rebuild``, ``publish --wait`` and the sweeper's backlog check all
read or write ``{ns}:progress`` under that name.
"""

from __future__ import annotations

from dataclasses import dataclass


def source_key(topic: str, partition: int) -> str:
    """``"{topic}:{partition}"``: the progress field (and ledger prefix) of a partition."""
    return f"{topic}:{partition}"


@dataclass(frozen=True)
class Position:
    """A Kafka message's topic, partition and offset; or a file's name and line number
    (``partition`` None, ``offset`` the 1-based line)."""

    topic: str
    partition: int | None
    offset: int

    @classmethod
    def line(cls, path: str, number: int) -> Position:
        return cls(path, None, number)

    @property
    def source(self) -> str:
        """The progress field of the message's partition (the file name for a file)."""
        if self.partition is None:
            return self.topic
        return source_key(self.topic, self.partition)

    @property
    def where(self) -> str:
        """``"{topic}:{partition}:{offset}"`` (``"{file}:{line}"``): names one message,
        e.g. in a dead letter's ``tthc-source`` header."""
        return f"{self.source}:{self.offset}"

    def describe(self) -> str:
        """For a log line: ``topic T partition P offset O`` or ``file:line``."""
        if self.partition is None:
            return f"{self.topic}:{self.offset}"
        return f"topic {self.topic} partition {self.partition} offset {self.offset}"
