"""The operator's text of ``tthc-monitor status``, from given facts (no service)."""

from __future__ import annotations

from tthc_monitor.cli.errors import UNAVAILABLE
from tthc_monitor.cli.status import PartitionLag, Service, Status, age_text, as_json, render


def test_age_in_vietnamese() -> None:
    assert age_text(40) == "40 giây"
    assert age_text(12 * 60 + 5) == "12 phút"
    assert age_text(2 * 3600 + 5 * 60) == "2 giờ 5 phút"
    assert age_text(1703 * 86400 + 19 * 3600) == "1.703 ngày 19 giờ"


def test_text_and_json_of_a_healthy_pipeline() -> None:
    status = Status(
        kafka=Service("Kafka", "k:9092", reachable=True),
        redis=Service("Redis", "redis://app:***@r:6379/0", reachable=True),
        topic="dossier-events",
        group="tthc-monitor",
        partitions=[
            PartitionLag(0, end=22755, committed=22000, applied=22500, lag=755),
            PartitionLag(1, end=100, committed=None, applied=0, lag=100),
        ],
        last_event_at="2022-04-06T10:05:00+07:00",
        last_applied_at="2026-12-04T06:11:07+07:00",
        last_event_age_seconds=600.0,
        dead_letter_topic="dossier-events-dlq",
        dead_letters_in_topic=3,
        dead_letters_counted=3,
        orphan_dossiers=1234,
        orphan_events=2,
    )
    text = render(status)
    assert "Kafka (k:9092): kết nối được" in text
    assert "Redis (redis://app:***@r:6379/0): kết nối được" in text
    assert "nhóm tthc-monitor trên dossier-events: 855 sự kiện chưa xử lý" in text
    assert "22.755      22.000       22.500      755" in text
    assert "06/04/2022 10:05:00 (cách đây 10 phút, ghi lúc 04/12/2026 06:11:07)" in text
    assert "1.234 hồ sơ, 2 sự kiện" in text
    assert "3 bản ghi trong topic, worker đã đếm 3 — xem: tthc-monitor dlq list" in text
    document = as_json(status)
    assert document["ok"] is True and document["total_lag"] == 855
    assert document["partitions"][1]["committed"] is None


def test_an_unreachable_service_sets_the_exit_code() -> None:
    status = Status(
        kafka=Service("Kafka", "k:9092", reachable=True),
        redis=Service("Redis", "redis://r:6379/0", error="cannot reach Redis", code=UNAVAILABLE),
        topic="t",
        group="g",
    )
    assert status.code == UNAVAILABLE
    assert "Redis (redis://r:6379/0): KHÔNG dùng được: cannot reach Redis" in render(status)
    assert as_json(status)["ok"] is False
