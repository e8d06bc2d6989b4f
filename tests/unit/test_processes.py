"""The shares of ``replay``/``rebuild --processes N``: real forked processes, no broker."""

from __future__ import annotations

import json
import os
import signal
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tthc_monitor.cli.errors import FAILED
from tthc_monitor.cli.processes import ChildDied, Reporter, run_shares
from tthc_monitor.cli.rebuild import shares
from tthc_monitor.cli.replay import merge_dead_letters, processes_for, share_of


class Bar:
    def __init__(self) -> None:
        self.n = 0

    def update(self, n: int = 1) -> object:
        self.n += n
        return None


def opened(bar: Bar):  # type: ignore[no-untyped-def]
    @contextmanager
    def factory() -> Iterator[Bar]:
        yield bar

    return factory


def test_each_share_runs_in_its_own_process_and_reports_progress() -> None:
    bar = Bar()

    def work(index: int, reporter: Reporter) -> tuple[int, int]:
        for _ in range(index + 1):
            reporter.update(10)
        return index, os.getpid()

    results = run_shares(3, work, opened(bar))
    assert [index for index, _ in results] == [0, 1, 2]
    pids = {pid for _, pid in results}
    assert len(pids) == 3 and os.getpid() not in pids
    assert bar.n == 60


def test_one_share_runs_here() -> None:
    assert run_shares(1, lambda index, bar: os.getpid(), opened(Bar())) == [os.getpid()]


def test_a_failing_share_fails_the_whole_with_its_error() -> None:
    def work(index: int, reporter: Reporter) -> int:
        if index == 1:
            raise ValueError("share 1 failed")
        return index

    with pytest.raises(ValueError, match="share 1 failed"):
        run_shares(3, work, opened(Bar()))


def test_a_share_killed_without_an_answer_fails_the_whole() -> None:
    def work(index: int, reporter: Reporter) -> int:
        if index == 0:
            os.kill(os.getpid(), signal.SIGKILL)
        return index

    with pytest.raises(ChildDied, match="process 1 of 2 ended without a result") as raised:
        run_shares(2, work, opened(Bar()))
    assert raised.value.code == FAILED


def test_partitions_are_dealt_largest_first_to_the_least_loaded() -> None:
    sizes = {0: 100, 1: 10, 2: 90, 3: 20, 4: 0}
    assert shares(sizes, 2) == [[0, 1, 4], [2, 3]]
    assert shares(sizes, 8) == [[0], [2], [3], [1], [4]]
    assert shares({}, 3) == []
    dealt = shares({p: 1000 + p for p in range(8)}, 3)
    assert sorted(p for share in dealt for p in share) == list(range(8))


def test_a_dossier_goes_to_one_share_whatever_its_line() -> None:
    line = b'{"event_id": "e1", "dossier_id": "H50-0001", "type": "received"}'
    other = b'{"type": "resolved", "dossier_id": "H50-0001", "event_id": "e9"}'
    expected = zlib.crc32(b"H50-0001") % 3
    assert share_of(line, 1, 3) == share_of(other, 77, 3) == expected
    assert share_of(b"not json", 7, 3) == 1
    assert share_of(b'{"dossier_id": 5}', 8, 3) == 2
    assert share_of(b"[1, 2]", 9, 3) == 0
    assert share_of(line, 5, 1) == 0


def test_the_dead_letter_report_is_in_line_order(tmp_path: Path) -> None:
    parts = [tmp_path / "a.jsonl", tmp_path / "b.jsonl", tmp_path / "none.jsonl"]
    parts[0].write_text(
        "".join(json.dumps({"offset": n, "kind": "invalid"}) + "\n" for n in (9, 2))
    )
    parts[1].write_text(json.dumps({"offset": 5, "kind": "processing"}) + "\n")
    out = tmp_path / "out" / "letters.jsonl"
    merge_dead_letters(parts, out)
    assert [json.loads(line)["offset"] for line in out.read_text().splitlines()] == [2, 5, 9]
    nothing = tmp_path / "nothing.jsonl"
    merge_dead_letters([parts[2]], nothing)
    assert not nothing.exists()


def test_replay_uses_processes_from_a_size_on() -> None:
    assert processes_for(None, 99_999) == 1
    assert processes_for(3, 10) == 3
    assert processes_for(None, 100_000) >= 1
