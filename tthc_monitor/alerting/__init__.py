"""Firing deadline alerts: the sweeper and its sinks (docs/alerts.md)."""
