"""Faust adapter: the agent that feeds dossier events from Kafka into the store."""
