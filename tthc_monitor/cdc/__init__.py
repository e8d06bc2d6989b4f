"""Change data capture: a one-stop system's row changes (Debezium) → contract events.

``mapping`` reads the declarative mapping file; ``translate`` is the pure core that turns
one Debezium envelope into events or reasons it cannot. No I/O here besides reading the
mapping file; the Faust agent (streams/translator.py) and the generator
(``generator``) are the adapters.
"""
