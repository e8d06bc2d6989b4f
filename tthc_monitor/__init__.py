"""TTHC Monitor: real-time monitoring of administrative-procedure dossiers."""

__version__ = "0.1.0"
