"""The ``tthc-monitor`` command line."""
