"""Run pip-audit over the lock file and tell "vulnerable" apart from "not audited".

pip-audit exits 1 both when it finds a vulnerability and (with --strict) when the
vulnerability service could not answer for a dependency. CI must treat the two
differently, so this wrapper reads pip-audit's JSON report and exits:

* 0: every pinned dependency was audited and none has a known vulnerability
  (or some could not be audited and --strict is off: they are listed);
* 1: a known vulnerability in a pinned version (the table says which, and the fix);
* 3: --strict and some dependencies could not be audited (service unreachable, or a
  registry mirror without per-version data): the audit proves nothing for them;
* 2: pip-audit itself failed (no network, ...).

Usage: python scripts/audit.py --lock requirements.lock [--service pypi|osv] [--strict]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lock", type=Path, default=Path("requirements.lock"))
    parser.add_argument("--service", default="pypi", choices=("pypi", "osv"))
    parser.add_argument("--strict", action="store_true", help="unaudited dependencies fail")
    parser.add_argument("--report", type=Path, help="also keep pip-audit's JSON report here")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        report = args.report or Path(tmp) / "pip-audit.json"
        command = [
            sys.executable,
            "-m",
            "pip_audit",
            "--requirement",
            str(args.lock),
            # The lock pins every package: audit exactly those versions, no resolution.
            "--no-deps",
            "--disable-pip",
            "--vulnerability-service",
            args.service,
            "--progress-spinner",
            "off",
            "--format",
            "json",
            "--output",
            str(report),
        ]
        print("+ " + " ".join(command), flush=True)
        result = subprocess.run(command, capture_output=True, text=True)
        if not report.exists() or not report.read_text().strip():
            sys.stderr.write(result.stderr[-4000:])
            print(f"audit: pip-audit failed (exit {result.returncode})", file=sys.stderr)
            return 2
        document: dict[str, Any] = json.loads(report.read_text())

    dependencies: list[dict[str, Any]] = document.get("dependencies", [])
    vulnerable = [d for d in dependencies if d.get("vulns")]
    skipped = [d for d in dependencies if "skip_reason" in d]
    audited = len(dependencies) - len(skipped)
    for dependency in vulnerable:
        for vuln in dependency["vulns"]:
            fixes = ", ".join(vuln.get("fix_versions") or []) or "no fixed version"
            aliases = ", ".join(vuln.get("aliases") or [])
            print(
                f"VULNERABLE {dependency['name']}=={dependency['version']}: {vuln['id']}"
                f"{f' ({aliases})' if aliases else ''}; fixed in: {fixes}"
            )
    for dependency in skipped:
        # pip-audit reports no version for a skipped dependency; the reason names it.
        print(f"not audited {dependency['name']}: {dependency['skip_reason']}")
    print(
        f"audit ({args.service}): {audited} of {len(dependencies)} pinned dependencies "
        f"audited, {len(vulnerable)} with known vulnerabilities, {len(skipped)} not audited"
    )
    if vulnerable:
        return 1
    if skipped and args.strict:
        print(
            "audit: INCOMPLETE -- the vulnerability service could not answer for the "
            "dependencies above (see docs/security.md, 'Dependency audit')",
            file=sys.stderr,
        )
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
