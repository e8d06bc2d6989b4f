#!/usr/bin/env bash
# Install the programs the test suite runs for real, or say in one line what is missing.
#
#   scripts/setup-machine.sh          check; install what is missing (root or passwordless sudo
#                                     with apt-get); exit 1 with one line naming what is still
#                                     missing and how to get it
#   scripts/setup-machine.sh --check  only check (exit 1 and the same line when something is missing)
#
# `make test`, `make check` and `.ci/run` call it first, so a missing service stops the run at
# once instead of failing tests one by one. What each program is for:
#   python3 + venv, make      the project's own tooling
#   redis-server              Redis for the integration and fault tests (Debian's)
#   java 17+, mvn             Apache Kafka (KRaft) from Maven Central jars (scripts/services.sh)
#   prometheus, promtool      the dashboards' queries and the alert rules' unit tests
#   chromium                  the wall page's browser test and screenshot
#   docker-compose            parses docker-compose.yml (Debian's package; no engine is needed)
#   openssl                   certificates for the Redis TLS test
#   curl                      scripts/cdc.sh talks to Kafka Connect's REST API
#   postgresql                the one-stop example database captured by Debezium (wal_level=logical)
#   libreoffice-writer        renders bao-cao.docx to PDF (headless) in the report's layout test
#   poppler-utils, fonts      pdftoppm turns the PDF's pages into PNG; Liberation Serif stands in
#                             for Times New Roman with the same metrics
set -euo pipefail

check_only=0
[[ ${1:-} == --check ]] && check_only=1

have() { command -v "$1" >/dev/null 2>&1; }

java_major() {  # major version of the java on PATH, 0 when there is none
  local v
  have java || { echo 0; return; }
  v=$(java -version 2>&1 | sed -n 's/.*version "\([0-9][0-9]*\).*/\1/p;q')
  echo "${v:-0}"
}

# Debian package for each missing program.
missing_packages() {
  local -a pkgs=()
  have python3 || pkgs+=(python3)
  if ! have python3 || ! python3 -c 'import ensurepip, venv' 2>/dev/null; then pkgs+=(python3-venv); fi
  have make || pkgs+=(make)
  have redis-server || pkgs+=(redis-server)
  (($(java_major) >= 17)) || pkgs+=(openjdk-17-jre-headless)
  have mvn || pkgs+=(maven)
  { have prometheus && have promtool; } || pkgs+=(prometheus)
  have chromium || pkgs+=(chromium)
  have docker-compose || pkgs+=(docker-compose)
  have openssl || pkgs+=(openssl)
  have curl || pkgs+=(curl)
  compgen -G '/usr/lib/postgresql/*/bin/pg_ctl' >/dev/null || pkgs+=(postgresql)
  have soffice || pkgs+=(libreoffice-writer)
  have pdftoppm || pkgs+=(poppler-utils)
  [[ -e /usr/share/fonts/truetype/liberation/LiberationSerif-Regular.ttf ]] || pkgs+=(fonts-liberation)
  # Liberation 2.x: 1.x lacks most precomposed Vietnamese letters (ế, ả…), LibreOffice falls back.
  [[ -e /usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf ]] || pkgs+=(fonts-liberation2)
  echo "${pkgs[*]:-}"
}

pkgs=$(missing_packages)
if [[ -z $pkgs ]]; then
  exit 0
fi

SUDO=
if [[ $(id -u) != 0 ]]; then
  if have sudo && sudo -n true 2>/dev/null; then SUDO="sudo -n"; else SUDO=none; fi
fi

if ((check_only)) || [[ $SUDO == none ]] || ! have apt-get; then
  echo "setup: missing ${pkgs// /, }; install them with: sudo apt-get install -y ${pkgs} (Debian/Ubuntu)" >&2
  exit 1
fi

echo "setup: installing ${pkgs} (apt-get)" >&2
export DEBIAN_FRONTEND=noninteractive
# shellcheck disable=SC2086  # word splitting of $SUDO and $pkgs is intended
{
  $SUDO apt-get update -q >&2 &&
    $SUDO apt-get install -y -q --no-install-recommends $pkgs >&2
} || {
  echo "setup: apt-get could not install ${pkgs}; install them by hand (sudo apt-get install -y ${pkgs})" >&2
  exit 1
}

pkgs=$(missing_packages)
if [[ -n $pkgs ]]; then
  echo "setup: still missing ${pkgs// /, } after apt-get install" >&2
  exit 1
fi
