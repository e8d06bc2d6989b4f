"""Redis adapter: dossier state and counters (layout in docs/redis-layout.md)."""
