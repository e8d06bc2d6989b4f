"""Programs the tests run for real: found, or the test fails saying how to get them.

`make test` installs them first (scripts/setup-machine.sh); a test run elsewhere without
them fails with one line naming the program and its Debian package, never skips.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def require(program: str, package: str) -> str:
    """The path of ``program`` on PATH, or fail the test naming the package to install."""
    found = shutil.which(program)
    if found is None:
        pytest.fail(
            f"{program} is not installed: apt-get install {package} (or make setup)",
            pytrace=False,
        )
    return found


def kafka_libs() -> Path:
    """The Apache Kafka jars, fetched from Maven Central once by scripts/services.sh."""
    require("mvn", "maven")
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "services.sh"), "jars"],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"could not fetch the Kafka jars: {result.stderr.strip()[-2000:]}")
    return Path(result.stdout.strip().splitlines()[-1])
