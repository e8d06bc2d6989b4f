"""Several processes for one command (``replay`` and ``rebuild --processes N``).

The rules' fold and the store's argument building are Python: one process uses one
core, whatever the machine has (docs/benchmarks.md, "Issue 15"). ``run_shares`` forks
one child per share of the input (dossiers for ``replay``, partitions for ``rebuild``),
each running the same pipeline on its share with its own Redis and Kafka clients, and
collects what each returns. While they run, the parent moves the one progress bar by
the counts the children report.

A child that raises, or dies without answering (killed, out of memory), fails the
whole command: the others are stopped and the child's exception is raised in the
parent, so the command ends with the error (and exit code) a single process would
have given, and whatever the command does once at the end (the rebuild's progress
record, the dead-letter report) is not done.

The children are forked, not spawned: the reference data the parent loaded is shared
as it is, and a child starts in milliseconds. They are forked before the parent starts
any thread or event loop (the progress bar comes after), which is what makes fork safe.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import pickle
import queue
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from tthc_monitor.cli.errors import FAILED, CommandError
from tthc_monitor.cli.progress import Progress

T = TypeVar("T")

REPLY_SECONDS = 120.0
"""How long a command's batch write waits for Redis's reply (redis-py's default: 5 s).
A batch is thousands of writes in pipelined Lua calls, and with several processes each
waits while the others' scripts run: a loaded machine passes 5 s, and a timed-out write
that did happen is retried whole, exact but with its events counted as duplicates. A
Redis that is really gone fails the connection instead."""

POLL_SECONDS = 0.2
"""How often the parent looks for a child that died without answering."""


class Reporter(Protocol):
    def update(self, n: int = 1) -> object: ...


class ChildDied(CommandError):
    """A child ended without a result (killed by a signal, or exited by itself): exit 1
    with one line, as for any command that ran but could not finish."""

    def __init__(self, message: str) -> None:
        super().__init__(message, FAILED)


class _Relay:
    """A child's side of the progress bar: counts sent to the parent."""

    def __init__(self, channel: Any, index: int) -> None:
        self.channel = channel
        self.index = index

    def update(self, n: int = 1) -> object:
        self.channel.put(("progress", self.index, n))
        return None


def default_processes(limit: int) -> int:
    """One process per core this command may use, at most ``limit`` (e.g. partitions)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, limit))


def process_count(text: str) -> int:
    """``--processes N``: a whole number, 1 or more."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def _portable(error: BaseException) -> bytes:
    """The exception, pickled here: a queue pickles in a thread that would only print a
    failure, losing the reason. What does not pickle travels as its text."""
    try:
        data = pickle.dumps(error)
        pickle.loads(data)
        return data
    except Exception:
        return pickle.dumps(RuntimeError(f"{type(error).__name__}: {error}"))


def _child(
    work: Callable[[int, Reporter], T], index: int, channel: Any
) -> None:  # pragma: no cover - runs in the forked child (its effects are tested)
    try:
        result = work(index, _Relay(channel, index))
    except BaseException as error:  # every failure, Ctrl-C included, goes to the parent
        channel.put(("failed", index, _portable(error)))
        return
    channel.put(("done", index, result))


def run_shares(
    count: int,
    work: Callable[[int, Reporter], T],
    bar_factory: Callable[[], Any],
) -> list[T]:
    """``work(index, reporter)`` for index 0..count-1, each in its own process; their
    results in index order. ``bar_factory`` opens the progress bar (a context manager
    yielding a ``Progress``) once the children are forked. ``count == 1`` runs in this
    process, with no fork."""
    if count == 1:
        with bar_factory() as bar:
            return [work(0, bar)]
    context = multiprocessing.get_context("fork")
    channel = context.Queue()
    children = [
        context.Process(target=_child, args=(work, index, channel), daemon=True)
        for index in range(count)
    ]
    for child in children:
        child.start()
    results: dict[int, T] = {}
    try:
        with bar_factory() as bar:
            _collect(children, channel, results, bar)
    finally:
        for child in children:
            if child.is_alive():
                child.terminate()
        for child in children:
            child.join()
        channel.close()
    return [results[index] for index in range(count)]


def _collect(children: Sequence[Any], channel: Any, results: dict[int, Any], bar: Progress) -> None:
    while len(results) < len(children):
        try:
            kind, index, payload = channel.get(timeout=POLL_SECONDS)
        except queue.Empty:
            # A child's last message is in the pipe before it exits, so a dead child
            # with nothing left to read died without one.
            for index, child in enumerate(children):
                if index not in results and not child.is_alive() and channel.empty():
                    raise ChildDied(
                        f"process {index + 1} of {len(children)} ended without a result "
                        f"(exit code {child.exitcode}); nothing was recorded as finished"
                    ) from None
            continue
        if kind == "progress":
            bar.update(payload)
        elif kind == "done":
            results[index] = payload
        else:
            raise pickle.loads(payload)
