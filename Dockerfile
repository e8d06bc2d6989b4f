# syntax=docker/dockerfile:1
#
# TTHC Monitor image: `tthc-monitor` is the entrypoint, `worker` the default command.
#   docker build -t tthc-monitor:0.1.0 .
#   docker run --rm tthc-monitor:0.1.0 --help
#
# Base: the official python image, 3.11 patch release on Debian bookworm, slim variant
# (tag listed in docker-library/official-images library/python).

# ---------------------------------------------------------------------------------------------
# build stage: a virtualenv with the project and its dependencies
FROM python:3.11.14-slim-bookworm AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

# A compiler for dependencies that ship no wheel for the target platform (e.g. on arm64).
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src
COPY pyproject.toml README.md requirements.lock ./
COPY tthc_monitor ./tthc_monitor
COPY schemas ./schemas
COPY streams ./streams
# The image runs the wheel that tests/integration/test_wheel.py installs and tests: built
# from these sources, installed without its sources beside it, with the runtime
# dependencies of requirements.lock checked against their hashes (what `make audit` audits).
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /dist . \
    && pip install --no-cache-dir --require-hashes --no-deps -r requirements.lock \
    && pip install --no-cache-dir --no-deps /dist/tthc_monitor-*.whl \
    && pip check

# ---------------------------------------------------------------------------------------------
# runtime stage: same base, no compiler, no sources, non-root
FROM python:3.11.14-slim-bookworm AS runtime

LABEL org.opencontainers.image.title="tthc-monitor" \
      org.opencontainers.image.description="Real-time monitoring of TTHC dossiers" \
      org.opencontainers.image.version="0.1.0" \
      org.opencontainers.image.licenses="Apache-2.0"

RUN groupadd --system --gid 10001 tthc \
    && useradd --system --uid 10001 --gid tthc \
        --home-dir /var/lib/tthc-monitor --create-home --shell /usr/sbin/nologin tthc

COPY --from=builder /opt/venv /opt/venv

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1

# Faust creates its data directory (<app id>-data) in the working directory at start-up,
# so the working directory must be writable by the runtime user.
WORKDIR /var/lib/tthc-monitor
USER 10001:10001

ENTRYPOINT ["tthc-monitor"]
CMD ["worker"]
