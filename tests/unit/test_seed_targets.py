"""The generator's target tables are the seed's appendices, keyed by registry unit."""

from __future__ import annotations

from tests.fixtures import SEED
from tthc_monitor.reference.registry import Registry
from tthc_monitor.report.profile import load_profile
from tthc_monitor.simulate.quangtri import load_targets
from tthc_monitor.simulate.seed_targets import extract


def test_targets_equal_the_seed(registry: Registry) -> None:
    assert load_targets() == extract(SEED, registry, load_profile())
