"""The pipeline's log lines on a command's stderr.

The worker's logging is Faust's; a command (``replay``, ``rebuild``) configures none, so
while it runs the pipeline it shows the pipeline's lines (dead letters, retries) on
stderr, one plain line each, as its other messages.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager

LOGGER = "tthc_monitor.pipeline"


@contextmanager
def lines_on_stderr() -> Iterator[None]:
    logger = logging.getLogger(LOGGER)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.setLevel(logging.WARNING)
    logger.addHandler(handler)
    propagate, logger.propagate = logger.propagate, False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate
