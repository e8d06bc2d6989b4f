"""Write the Grafana dashboards (dashboards/grafana/dashboards/*.json) from dashboards/builders."""

# Why a script and not hand-written JSON: every per-unit panel carries one display-name
# override per unit (unit id -> the registry's Vietnamese name, ~75 units), and the three
# dashboards share the datasource, the styling and the panel shapes. Written out by hand
# that is thousands of repetitive lines that drift from tthc_monitor/reference; here it is
# read from the registry CSV. Only the standard library is used (grafana-foundation-sdk is
# not packaged for Debian and would be one more dependency for ~300 lines of dicts). The
# JSON is committed, so Grafana never runs this script; tests/unit/test_dashboards.py
# checks that the committed files equal its output.
#
#     python dashboards/generate.py           rewrite the JSON files
#     python dashboards/generate.py --check   exit 1 when a committed file differs

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# Run as a file (python dashboards/generate.py, or loaded by path as the tests do), the
# repository root is not on sys.path and `dashboards.builders` would not import.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from dashboards.builders.operations import operations  # noqa: E402
from dashboards.builders.unit import unit_dashboard  # noqa: E402
from dashboards.builders.wall import wall  # noqa: E402

__all__ = ["DASHBOARDS", "OUT", "ROOT", "main", "operations", "render", "unit_dashboard", "wall"]

OUT = ROOT / "dashboards" / "grafana" / "dashboards"

DASHBOARDS: dict[str, Callable[[], dict[str, Any]]] = {
    "tthc-wall.json": wall,
    "tthc-unit.json": unit_dashboard,
    "tthc-operations.json": operations,
}


def render(build: Callable[[], dict[str, Any]]) -> str:
    return json.dumps(build(), ensure_ascii=False, indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args(argv)
    stale = []
    for name, build in DASHBOARDS.items():
        path = OUT / name
        text = render(build)
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    if stale:
        print(f"out of date: {', '.join(stale)} (run python dashboards/generate.py)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
