"""Prometheus exposition: the metric catalogue and the collector that reads Redis."""
