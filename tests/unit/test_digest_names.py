"""The digest names the unit by its registry name, not its id."""

from __future__ import annotations

from datetime import date, datetime

from tthc_monitor.alerting.digest import Digest
from tthc_monitor.core.periods import LOCAL_TZ
from tthc_monitor.reference.registry import load_registry
from tthc_monitor.store.alert_store import IndexEntry


def digest(name: str | None) -> Digest:
    due = datetime(2022, 2, 7, 17, 0, tzinfo=LOCAL_TZ)
    return Digest(
        "so-tu-phap",
        date(2022, 2, 7),
        date(2022, 2, 8),
        (IndexEntry("A1", "owner", due), IndexEntry("L1", "interagency", due)),
        (),
        (),
        name,
    )


def test_text_and_json_carry_the_registry_name() -> None:
    name = load_registry().unit("so-tu-phap").name
    named = digest(name)
    first = named.text().splitlines()[0]
    assert first == "Sở Tư pháp: tình hình hồ sơ ngày 07/02/2022"
    assert "so-tu-phap" not in named.text()
    assert "  - L1 (liên thông), hạn 17:00 07/02/2022" in named.text()
    assert named.as_dict()["unit_name"] == "Sở Tư pháp"
    assert named.as_dict()["unit_id"] == "so-tu-phap"


def test_without_a_name_the_id_is_printed() -> None:
    assert digest(None).text().startswith("so-tu-phap: tình hình hồ sơ ngày 07/02/2022")
