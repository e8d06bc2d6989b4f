"""No counter goes down when late events revise figures (docs/metrics.md, "Counters and
gauges"), on real Redis: scrape, apply revising events, scrape again."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.eventkit import raw
from tests.integration import scenario
from tests.integration.conftest import Env
from tests.integration.test_metrics import exposition
from tthc_monitor.reference.registry import Registry

pytestmark = pytest.mark.integration

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], tuple[str, float]]
R, O = "REV-1", "REV-2"  # noqa: E741 - the dossiers' own names


def samples(text: str) -> Samples:
    """(sample name, labels) -> (type of its family, value)."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): (family.type, s.value)
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def replay(env: Env, tmp_path: Path, name: str, events: list[dict[str, Any]]) -> None:
    source = tmp_path / name
    source.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    env.cli("replay", str(source))


def value(scraped: Samples, name: str, **labels: str) -> float:
    return scraped[(name, tuple(sorted(labels.items())))][1]


def test_revising_events_move_gauges_and_never_a_counter_down(
    env: Env, registry: Registry, tmp_path: Path
) -> None:
    s, y = scenario.S, scenario.Y
    replay(
        env,
        tmp_path,
        "first.jsonl",
        [
            # Due 25/3, resolved 28/3: late.
            raw(
                "received",
                R,
                "2022-03-21 09:00",
                s,
                event_id="rev-1",
                procedure_id=scenario.JUSTICE,
                channel="direct",
                due_at="2022-03-25 17:00",
            ),
            raw("resolved", R, "2022-03-28 10:00", s, event_id="rev-2"),
            # Its 'received' has not arrived: held, an orphan.
            raw("resolved", O, "2022-03-25 10:00", y, event_id="rev-3"),
        ],
    )
    before = samples(exposition(env, registry, "2022-04"))
    late = {"unit": s, "report_unit": s, "timeliness": "late"}
    on_time = {**late, "timeliness": "on_time"}
    assert value(before, "tthc_resolved_dossiers", **late) == 1
    assert value(before, "tthc_pipeline_orphan_dossiers") == 1

    replay(
        env,
        tmp_path,
        "second.jsonl",
        [
            # Dated before the resolution, arriving after it: due 28/3 17:00, so on time.
            raw(
                "extended",
                R,
                "2022-03-24 09:00",
                s,
                event_id="rev-4",
                new_due_at="2022-03-28 17:00",
            ),
            # Releases the held resolution.
            raw(
                "received",
                O,
                "2022-03-20 08:00",
                y,
                event_id="rev-5",
                procedure_id=scenario.HEALTH,
                channel="direct",
                due_at="2022-03-30 17:00",
            ),
        ],
    )
    after = samples(exposition(env, registry, "2022-04"))

    # The figures were revised: a gauge went down...
    assert value(after, "tthc_resolved_dossiers", **late) == 0
    assert value(after, "tthc_resolved_dossiers", **on_time) == 1
    assert value(after, "tthc_pipeline_orphan_dossiers") == 0
    assert value(after, "tthc_resolved_dossiers", unit=y, report_unit=y, timeliness="early") == 1
    # ...and no counter did; each counter sample of the first scrape is still there.
    counters = {key: v for key, (kind, v) in before.items() if kind == "counter"}
    assert any(name == "tthc_pipeline_events_total" for name, _ in counters)
    for key, old in counters.items():
        assert key in after, key
        kind, new = after[key]
        assert kind == "counter" and new >= old, (key, old, new)
    assert value(after, "tthc_pipeline_events_total", outcome="applied") > value(
        before, "tthc_pipeline_events_total", outcome="applied"
    )
