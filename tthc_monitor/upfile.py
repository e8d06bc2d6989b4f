"""The up file: the servers a running ``tthc-monitor up`` started, for the other commands.

``up`` writes it once its servers answer and removes it when it stops; the other
commands of the same user read it when ``TTHC_KAFKA_BOOTSTRAP`` / ``TTHC_REDIS_URL``
are unset (``tthc_monitor/cli/common.py``, ``settings_from``). Where it lives:
``TTHC_UP_FILE`` when set, else ``$XDG_STATE_HOME/tthc-monitor/up.json``
(``~/.local/state/tthc-monitor/up.json``).

A file whose ``up`` no longer runs (killed, machine restarted) is stale and ignored.
It never holds a password: a Redis URL with one is written without it (the readers
take it from ``TTHC_REDIS_PASSWORD``, as for any Redis). The file is private to its user
anyway (mode 0600 in a 0700 directory), since it names local ports and pids.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

VERSION = 1


def path_for(configured: Path | None = None) -> Path:
    """``configured`` (``TTHC_UP_FILE``, ``Settings.up_file``), else
    ``${XDG_STATE_HOME:-~/.local/state}/tthc-monitor/up.json``."""
    if configured:
        return Path(configured).expanduser()
    state = os.environ.get("XDG_STATE_HOME") or "~/.local/state"
    return Path(state).expanduser() / "tthc-monitor" / "up.json"


def without_password(url: str) -> tuple[str, bool]:
    """``url`` without its password (netloc, or ``password=`` of a unix:// query), and
    whether it had one."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        base, _, rest = url.partition("?")
        query, hash_, fragment = rest.partition("#")
        pairs = parse_qsl(query, keep_blank_values=True)
        kept = [(k, v) for k, v in pairs if k != "password"]
        if len(kept) == len(pairs):
            return url, False
        return base + (f"?{urlencode(kept)}" if kept else "") + hash_ + fragment, True
    if parts.password is None:
        return url, False
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user = userinfo.split(":", 1)[0]
    netloc = f"{user}@{hostport}" if user else hostport
    return urlunsplit(parts._replace(netloc=netloc)), True


@dataclass(frozen=True)
class UpServers:
    """What the up file holds."""

    pid: int
    """The ``tthc-monitor up`` process."""
    kafka_bootstrap: str
    redis_url: str
    """Without a password (``redis_password_omitted`` says whether it had one)."""
    serve_url: str | None = None
    processes: dict[str, int] = field(default_factory=dict)
    """Name -> pid of what ``up`` started (tansu, redis, worker, serve)."""
    redis_password_omitted: bool = False
    started_at: str = ""
    version: int = VERSION

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> UpServers:
        return cls(
            pid=int(document["pid"]),
            kafka_bootstrap=str(document["kafka_bootstrap"]),
            redis_url=str(document["redis_url"]),
            serve_url=document.get("serve_url"),
            processes={str(k): int(v) for k, v in document.get("processes", {}).items()},
            redis_password_omitted=bool(document.get("redis_password_omitted", False)),
            started_at=str(document.get("started_at", "")),
            version=int(document.get("version", VERSION)),
        )


def pid_runs(pid: int) -> bool:
    """Whether ``pid`` is a running (not zombie) process that looks like tthc-monitor."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process: it runs
    proc = Path("/proc") / str(pid)
    with contextlib.suppress(OSError):
        if (proc / "stat").read_text().rpartition(")")[2].split()[0] == "Z":
            return False
    with contextlib.suppress(OSError):
        # A pid reused by an unrelated process after a crash: not our ``up``.
        return b"tthc" in (proc / "cmdline").read_bytes()
    return True


def write(path: Path, servers: UpServers) -> None:
    """Write ``servers`` to ``path`` atomically, readable by its owner only."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=".up-", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:  # mkstemp: mode 0600
            json.dump(asdict(servers), handle, indent=2)
            handle.write("\n")
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def read(path: Path) -> UpServers | None:
    """The servers in ``path``; None when it is missing, unreadable or malformed."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        return UpServers.from_json(document)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def read_live(path: Path) -> UpServers | None:
    """The servers in ``path`` if the ``up`` that wrote it still runs, else None."""
    servers = read(path)
    if servers is None or not pid_runs(servers.pid):
        return None
    return servers


def remove(path: Path, pid: int) -> None:
    """Remove ``path`` if the ``up`` of ``pid`` wrote it (not another one's)."""
    servers = read(path)
    if servers is not None and servers.pid == pid:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
