"""``tthc-monitor cdc``: the change-data-capture path (docs/cdc.md).

* ``cdc generate``: play a contract event file into the sample one-stop database;
* ``cdc translate``: run the Faust translator (Debezium topics → the events topic) in a
  process of its own (``worker --cdc-mapping`` runs it inside the worker instead);
* ``cdc check-mapping``: read a mapping file and print what it maps, or why it is wrong.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from tthc_monitor.cli.common import settings_from

if TYPE_CHECKING:
    from tthc_monitor.cdc.mapping import OneStopMapping

DEFAULT_MAPPING = Path(__file__).resolve().parents[2] / "examples" / "one-stop" / "mapping.toml"


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser("cdc", help="change data capture from a one-stop database")
    sub = p.add_subparsers(dest="cdc_command", required=True)

    g = sub.add_parser("generate", help="play contract events into the sample one-stop schema")
    g.add_argument("events", type=Path, help="contract events (JSON Lines, e.g. from simulate)")
    g.add_argument("--dsn", default=os.environ.get("TTHC_PG_DSN"), help="default TTHC_PG_DSN")
    g.add_argument("--dossiers", type=int, help="only N dossiers' whole histories")
    g.add_argument("--every", type=int, default=1, help="with --dossiers: every K-th received")
    g.add_argument("--played", type=Path, help="write the events played here (for replay)")
    g.add_argument("--init-schema", action="store_true", help="create the sample tables first")
    g.set_defaults(run=run_generate)

    t = sub.add_parser("translate", help="run the translator (Faust agent)")
    t.add_argument("--mapping", type=Path, default=_mapping_default())
    t.add_argument("--loglevel", default="info")
    t.set_defaults(run=run_translate)

    c = sub.add_parser("check-mapping", help="validate a mapping file")
    c.add_argument("--mapping", type=Path, default=_mapping_default())
    c.set_defaults(run=run_check)


def _mapping_default() -> Path:
    return Path(os.environ.get("TTHC_CDC_MAPPING", DEFAULT_MAPPING))


def run_generate(args: argparse.Namespace) -> int:
    from tthc_monitor.cdc import generator

    if not args.dsn:
        print("tthc-monitor: give --dsn or TTHC_PG_DSN", file=sys.stderr)
        return 2
    events = generator.read_events(args.events)
    if args.dossiers:
        events = generator.subset(events, args.dossiers, args.every)
    if args.played:
        with args.played.open("w", encoding="utf-8") as handle:
            for event in events:
                handle.write(json.dumps(event, ensure_ascii=False, separators=(",", ":")) + "\n")
    if args.init_schema:
        generator.init_schema(args.dsn)
    played = generator.play(args.dsn, events)
    print(json.dumps(vars(played), ensure_ascii=False))
    return 0


def run_check(args: argparse.Namespace) -> int:
    from tthc_monitor.cdc.mapping import MappingError, load

    try:
        mapping = load(args.mapping)
    except MappingError as error:
        print(f"tthc-monitor: {error}", file=sys.stderr)
        return 2
    for name, table in mapping.tables.items():
        rules = ", ".join(f"{r.type} when {r.when_column}" for r in table.rules)
        print(f"{mapping.topic(name)}: {rules}")
    return 0


def load_mapping(path: Path) -> OneStopMapping | None:
    """The mapping file read, or None after saying on stderr why it cannot be."""
    from tthc_monitor.cdc.mapping import MappingError, load

    try:
        return load(path)
    except MappingError as error:
        print(f"tthc-monitor: {error}", file=sys.stderr)
    except OSError as error:
        print(f"tthc-monitor: cannot read the mapping {path}: {error.strerror}", file=sys.stderr)
    return None


def source_topics(mapping: OneStopMapping) -> dict[str, int]:
    """The Debezium topics of the mapped tables, one partition each. Debezium creates a
    table's topic with its first change; created beforehand, the translator can
    subscribe before that."""
    return {mapping.topic(name): 1 for name in mapping.tables}


def run_translate(args: argparse.Namespace) -> int:
    from faust.worker import Worker

    from streams.translator import create_translator
    from tthc_monitor.connections import kafka_python_config
    from tthc_monitor.kafka_admin import ensure_topics

    settings = settings_from(args)
    mapping = load_mapping(args.mapping)
    if mapping is None:
        return 2
    topics = source_topics(mapping)
    topics[settings.topic] = settings.partitions
    topics[settings.dlq_topic] = 1
    ensure_topics(
        settings.require_kafka(),
        topics,
        configs=settings.topic_configs(),
        security=kafka_python_config(settings),
    )
    app = create_translator(settings, mapping)
    worker = Worker(app, loglevel=args.loglevel, quiet=True, redirect_stdouts=False)
    logging.getLogger("tthc_monitor").setLevel(args.loglevel.upper())
    worker.execute_from_commandline()
    return 0
