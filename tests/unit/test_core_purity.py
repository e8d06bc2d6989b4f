"""The core does no I/O (docs/architecture.md, "Layers"): a scan of its source.

Files, storage formats and services belong to ``reference/`` (loaders), ``store/``
(stored forms, Redis) and the adapters; ``tthc_monitor/core`` only computes. The scan
looks at the syntax tree, so a word in a docstring or comment does not count.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[2] / "tthc_monitor" / "core"

FORBIDDEN_MODULES = frozenset(
    {
        "aiokafka",
        "csv",
        "faust",
        "importlib",
        "io",
        "json",
        "kafka",
        "orjson",
        "os",
        "pathlib",
        "pickle",
        "redis",
        "shutil",
        "socket",
        "sqlite3",
        "subprocess",
        "tempfile",
        "urllib",
    }
)
"""Modules whose use means files, storage formats, services or the environment."""

FORBIDDEN_CALLS = frozenset({"open", "input", "print", "exec", "eval", "__import__"})
FORBIDDEN_ATTRIBUTES = frozenset(
    {
        "read_text",
        "read_bytes",
        "write_text",
        "write_bytes",
        "open",
        "environ",
        "getenv",
        "loads",
        "dumps",
        "load",
        "dump",
    }
)
"""``Path.read_text``, ``os.environ``, ``json.loads`` and the like, however imported."""


def violations(source: str, name: str) -> list[str]:
    found: list[str] = []
    for node in ast.walk(ast.parse(source, name)):
        where = f"{name}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Import):
            found += [
                f"{where}: import {a.name}"
                for a in node.names
                if a.name.split(".")[0] in FORBIDDEN_MODULES
            ]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] in FORBIDDEN_MODULES:
                found.append(f"{where}: from {node.module} import ...")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id in FORBIDDEN_CALLS:
                found.append(f"{where}: {node.func.id}(...)")
        elif isinstance(node, ast.Attribute) and node.attr in FORBIDDEN_ATTRIBUTES:
            found.append(f"{where}: .{node.attr}")
    return found


def test_the_scan_finds_what_it_forbids() -> None:
    """Each kind of I/O below is caught: a scan that never fires would prove nothing."""
    samples = {
        "import csv": "import csv",
        "from importlib import resources": "from importlib",
        "import redis.asyncio": "import redis.asyncio",
        "from aiokafka import AIOKafkaProducer": "from aiokafka",
        "import faust": "import faust",
        "import os\nos.environ['X']": ".environ",
        "open('f')": "open(...)",
        "p.read_text('utf-8')": ".read_text",
        "x = json.loads(s)": ".loads",
        "from pathlib import Path": "from pathlib",
    }
    for source, expected in samples.items():
        found = violations(source, "sample.py")
        assert any(expected in v for v in found), (source, found)
    assert violations('"""open() json.loads os.environ"""\nx = 1  # csv', "doc.py") == []


@pytest.mark.parametrize("path", sorted(CORE.glob("*.py")), ids=lambda p: p.name)
def test_core_module_does_no_io(path: Path) -> None:
    assert violations(path.read_text("utf-8"), path.name) == []


def test_the_core_is_scanned() -> None:
    names = {p.name for p in CORE.glob("*.py")}
    assert {"calendar.py", "alerts.py", "index766.py", "schedule.py", "freeze.py"} <= names
