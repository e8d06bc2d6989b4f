"""The Quảng Trị April 2022 scenario, planned from the report's printed appendices."""

from tthc_monitor.simulate.quangtri.april import AprilRows, Outcome
from tthc_monitor.simulate.quangtri.base import BuilderBase, Reconciled
from tthc_monitor.simulate.quangtri.builder import Builder, build
from tthc_monitor.simulate.quangtri.digitization import DigitizationAndFees
from tthc_monitor.simulate.quangtri.interagency import InteragencyStages
from tthc_monitor.simulate.quangtri.land import LandQuarter
from tthc_monitor.simulate.quangtri.targets import (
    CARRIED_DUE,
    CARRIED_EARLY,
    CARRIED_LATE,
    CARRIED_ON_TIME,
    FAR,
    OVERDUE_DUE,
    P_FIRST,
    P_LAST_RECEIPT,
    Q_FIRST,
    load_targets,
)

__all__ = [
    "CARRIED_DUE",
    "CARRIED_EARLY",
    "CARRIED_LATE",
    "CARRIED_ON_TIME",
    "FAR",
    "OVERDUE_DUE",
    "P_FIRST",
    "P_LAST_RECEIPT",
    "Q_FIRST",
    "AprilRows",
    "Builder",
    "BuilderBase",
    "DigitizationAndFees",
    "InteragencyStages",
    "LandQuarter",
    "Outcome",
    "Reconciled",
    "build",
    "load_targets",
]
