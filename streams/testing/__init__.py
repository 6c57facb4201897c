"""Replay and Kafka fixtures for testing consumers of our topics."""

__all__: list[str] = []
