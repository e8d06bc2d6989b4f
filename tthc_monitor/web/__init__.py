"""The exporter's HTTP side: /metrics, the JSON API and the built-in wall page."""
