"""Deterministic scenarios: event streams whose snapshots reproduce a printed report."""
