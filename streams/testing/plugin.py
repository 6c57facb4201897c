"""pytest plugin (installed with the package as `follower_thresholds`).

Fixtures:
    kafka_broker             session: the broker (see streams.testing.harness for the order)
    kafka_bootstrap_servers  session: its bootstrap servers
    thresholds_harness       fresh topics and consumer group on that broker
    thresholds_worker        a worker running on the harness's topics, ready
    produce_log              produce(values or a JSONL path) into the harness's topics
    consume_topic            consume(topic) -> every record so far, to the high watermark
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from streams.kafka.client import ConsumedRecord
from streams.testing.harness import Broker, Harness, Worker, find_broker

__all__ = [
    "consume_topic",
    "kafka_bootstrap_servers",
    "kafka_broker",
    "produce_log",
    "thresholds_harness",
    "thresholds_worker",
]


_BROKER_LOG: list[Path] = []


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    """The broker every live test of the session uses (see streams.testing.harness)."""
    broker = find_broker(tmp_path_factory.mktemp("broker"))
    if broker.log is not None:
        _BROKER_LOG.append(broker.log)
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture(scope="session")
def kafka_bootstrap_servers(kafka_broker: Broker) -> str:
    """The session broker's bootstrap servers."""
    return kafka_broker.bootstrap_servers


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """A failed live test shows the end of Apache Kafka's own log."""
    outcome: Any = yield
    report = outcome.get_result()
    if report.failed and _BROKER_LOG and _BROKER_LOG[0].exists():
        lines = _BROKER_LOG[0].read_text(errors="replace").splitlines()[-40:]
        report.sections.append(("Apache Kafka log (last 40 lines)", "\n".join(lines)))


@pytest.fixture
def thresholds_harness(kafka_broker: Broker) -> Iterator[Harness]:
    """Fresh topics (created) and a fresh consumer group on the session's broker
    (a given one with the environment's security settings)."""
    harness = Harness(kafka_broker.bootstrap_servers, security=kafka_broker.security)
    harness.create_topics()
    try:
        yield harness
    finally:
        harness.stop()


@pytest.fixture
def thresholds_worker(thresholds_harness: Harness) -> Worker:
    """A worker running on the harness's topics, ready."""
    return thresholds_harness.start_worker()


@pytest.fixture
def produce_log(thresholds_harness: Harness) -> Callable[[Any], int]:
    """`produce_log(values_or_path)`: send a log, keyed as the spec says."""

    def produce(log: Iterable[Mapping[str, Any] | bytes] | str | Path) -> int:
        if isinstance(log, str | Path):
            lines = [line for line in Path(log).read_bytes().splitlines() if line.strip()]
            return thresholds_harness.produce(lines)
        return thresholds_harness.produce(log)

    return produce


@pytest.fixture
def consume_topic(thresholds_harness: Harness) -> Callable[..., list[ConsumedRecord]]:
    """`consume_topic(topic, processed=True)`: every record so far.

    With `processed` it first waits until the worker has committed everything
    produced to its inputs, so the outputs of that input are all there.
    """

    def consume(*topics: str, processed: bool = True) -> list[ConsumedRecord]:
        if processed and thresholds_harness.workers:
            thresholds_harness.wait_processed()
        return thresholds_harness.read(*topics)

    return consume
