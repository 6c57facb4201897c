"""pytest plugin (installed with the package): a broker, workers, logs and topics.

Fixtures:
    kafka_bootstrap_servers  session: `KAFKA_BOOTSTRAP_SERVERS`, else testcontainers'
                             Kafka when Docker answers, else the embedded broker
    thresholds_harness       isolated topics and consumer group on that broker
    thresholds_worker        a running worker on the harness's topics
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from streams.testing.harness import Harness, Worker, find_broker

__all__ = ["kafka_bootstrap_servers", "thresholds_harness", "thresholds_worker"]


@pytest.fixture(scope="session")
def kafka_bootstrap_servers() -> Iterator[str]:
    """The broker every live test of the session uses."""
    broker = find_broker()
    try:
        yield broker.bootstrap_servers
    finally:
        broker.stop()


@pytest.fixture
def thresholds_harness(kafka_bootstrap_servers: str) -> Iterator[Harness]:
    """Fresh topics (created) and a fresh consumer group on the session's broker."""
    harness = Harness(kafka_bootstrap_servers)
    harness.create_topics()
    try:
        yield harness
    finally:
        harness.stop()


@pytest.fixture
def thresholds_worker(thresholds_harness: Harness) -> Worker:
    """A worker running on the harness's topics, ready."""
    return thresholds_harness.start_worker()
