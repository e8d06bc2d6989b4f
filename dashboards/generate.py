"""Write the Grafana dashboards (dashboards/grafana/dashboards/*.json) from dashboards/builders."""

# The dashboards are code on Grafana's own Foundation SDK (grafana-foundation-sdk, a
# development-time dependency): typed builders for the dashboard, panels, Prometheus
# queries and variables, encoded by the SDK's JSON encoder. The JSON is committed and is
# what Grafana provisions, so Grafana never runs this script and the SDK is not needed at
# run time; tests/unit/test_dashboards.py checks that the committed files equal its
# output. Keys are sorted, so the output is the same on every run.
#
#     python dashboards/generate.py           rewrite the JSON files
#     python dashboards/generate.py --check   exit 1 when a committed file differs

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from grafana_foundation_sdk.builders.dashboard import Dashboard
from grafana_foundation_sdk.cog.encoder import JSONEncoder

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

DASHBOARDS: dict[str, Callable[[], Dashboard]] = {
    "tthc-wall.json": wall,
    "tthc-unit.json": unit_dashboard,
    "tthc-operations.json": operations,
}


def render(build: Callable[[], Dashboard]) -> str:
    encoder = JSONEncoder(sort_keys=True, indent=2, ensure_ascii=False)
    return encoder.encode(build().build()) + "\n"


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
