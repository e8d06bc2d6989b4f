"""The generator's target tables are the seed's appendices, keyed by registry unit."""

from __future__ import annotations

from pathlib import Path

import pytest

from tthc_monitor.reference.registry import Registry
from tthc_monitor.report.profile import load_profile
from tthc_monitor.simulate.quangtri import load_targets
from tthc_monitor.simulate.seed_targets import extract

SEED = Path(__file__).resolve().parents[3] / "shared" / "seed" / "quangtri-2022-04"


def test_targets_equal_the_seed(registry: Registry) -> None:
    if not SEED.exists():
        pytest.skip("shared/seed is not beside the project")
    assert load_targets() == extract(SEED, registry, load_profile())
