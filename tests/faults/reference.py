"""Clean-run references (`tthc-monitor replay`) and the exact state comparison of every case."""

from __future__ import annotations

import asyncio
import hashlib
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis

from tests.faults.events import Lines
from tests.integration.conftest import ROOT, Env, Services
from tthc_monitor.config import Settings

__all__ = [
    "COMPARED",
    "References",
    "State",
    "assert_same_state",
    "delete_namespace",
    "read_state",
]

# What the snapshot comparison covers: (period, months). The month's stream also has
# dossiers received from October 2021, which the land quarter's carried-over figures
# and the raw counter comparison include.
COMPARED: tuple[tuple[str, int], ...] = (("2022-04", 1), ("2022-03", 1), ("2022-03", 3))


@dataclass
class State:
    snapshots: dict[str, dict[str, Any]]
    counters: dict[str, dict[str, int]]
    global_: dict[str, int]

    def differences(self, other: State) -> list[str]:
        problems = [
            f"snapshot {k} differs"
            for k in self.snapshots
            if self.snapshots[k] != other.snapshots.get(k)
        ]
        for period in sorted(set(self.counters) | set(other.counters)):
            mine, theirs = self.counters.get(period, {}), other.counters.get(period, {})
            for name in sorted(set(mine) | set(theirs)):
                if mine.get(name) != theirs.get(name):
                    problems.append(f"{period} {name}: {mine.get(name)} != {theirs.get(name)}")
        if self.global_ != other.global_:
            problems.append(f"global counters: {self.global_} != {other.global_}")
        return problems


def read_state(redis_url: str, namespace: str) -> State:
    """Snapshots of COMPARED and every counter hash, read as `snapshot` reads them."""
    from tthc_monitor.cli.snapshot import read_snapshot
    from tthc_monitor.store.redis_store import DossierStore

    settings = Settings(redis_url=redis_url, namespace=namespace)

    async def read() -> State:
        documents: dict[str, dict[str, Any]] = {}
        for period, months in COMPARED:
            document = await read_snapshot(settings, redis_url, period, months)
            document.pop("as_of", None)  # the time of reading, not a figure
            documents[f"{period}x{months}"] = document
        client = redis.asyncio.Redis.from_url(redis_url, decode_responses=True)
        try:
            store = DossierStore(client, settings.engine, namespace)
            return State(documents, await store.read_counters(), await store.read_global())
        finally:
            await client.aclose()

    return asyncio.run(read())


class References:
    """Clean runs: `tthc-monitor replay` of a set of events into a namespace of its own.

    ``start`` runs the replay in the background (a case can start its references, then
    run its faults meanwhile); ``of`` waits for it and reads the state.
    """

    def __init__(self, shared: Services, tmp: Path) -> None:
        self.services = shared
        self.tmp = tmp
        self.cache: dict[str, tuple[State, dict[str, int]]] = {}
        self.running: dict[str, tuple[subprocess.Popen[bytes], str]] = {}

    @staticmethod
    def _digest(lines: Lines) -> str:
        return hashlib.sha256(b"\n".join(lines)).hexdigest()[:16]

    def start(self, lines: Lines) -> None:
        digest = self._digest(lines)
        if digest in self.cache or digest in self.running:
            return
        source = self.tmp / f"reference-{digest}.jsonl"
        source.write_bytes(b"\n".join(lines) + b"\n")
        namespace = f"ref{uuid.uuid4().hex[:8]}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("TTHC_")}
        env.update(
            PYTHONPATH=str(ROOT),
            TTHC_REDIS_URL=self.services.redis_url,
            TTHC_NAMESPACE=namespace,
        )
        process = subprocess.Popen(
            [sys.executable, "-m", "tthc_monitor.cli.main", "replay", str(source)],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self.running[digest] = (process, namespace)

    def of(self, lines: Lines) -> tuple[State, dict[str, int]]:
        """The clean state of ``lines`` and the replay's statistics (applied, ...)."""
        digest = self._digest(lines)
        if digest not in self.cache:
            self.start(lines)
            process, namespace = self.running.pop(digest)
            _, errors = process.communicate(timeout=900)
            assert process.returncode == 0, errors.decode(errors="replace")[-3000:]
            client = redis.Redis.from_url(self.services.redis_url, decode_responses=True)
            state = read_state(self.services.redis_url, namespace)
            raw: dict[str, str] = client.hgetall(f"{namespace}:stats")  # type: ignore[assignment]
            stats = {k: int(v) for k, v in raw.items()}
            delete_namespace(client, namespace)
            self.cache[digest] = (state, stats)
        return self.cache[digest]


def delete_namespace(client: redis.Redis, namespace: str) -> None:
    keys = list(client.scan_iter(f"{namespace}:*", count=1000))
    for start in range(0, len(keys), 500):
        client.delete(*keys[start : start + 500])


def assert_same_state(env: Env, reference: State) -> None:
    """The case's snapshots of COMPARED and every counter hash equal the clean run's, to the
    last field."""
    got = read_state(env.services.redis_url, env.namespace)
    problems = got.differences(reference)
    assert not problems, "not the clean run's state:\n" + "\n".join(problems[:40])
