"""Builders of the Grafana dashboards that dashboards/generate.py writes out as JSON."""
