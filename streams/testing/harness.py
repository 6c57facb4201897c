"""The live test harness: the product's sandbox, on the broker the tests pick.

`THRESHOLDS_TEST_BROKER` chooses the broker: `apache-kafka` (required: a
failure to start it fails the tests), `tansu`, or unset for the first one
available (`KAFKA_BOOTSTRAP_SERVERS`, testcontainers when a Docker engine
answers, Apache Kafka when `java` and `mvn` are present, Tansu).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from streams.cli.sandbox import Harness, Worker
from streams.kafka.apache import KAFKA_VERSION
from streams.kafka.discovery import Broker
from streams.kafka.discovery import find_broker as _find_broker

__all__ = ["Broker", "Harness", "Worker", "find_broker", "thresholds"]


def _container() -> Broker:
    from testcontainers.kafka import KafkaContainer

    container = KafkaContainer(f"apache/kafka:{KAFKA_VERSION}").with_kraft()
    container.start()
    return Broker(container.get_bootstrap_server(), "container", container.stop)


def find_broker(workdir: Path | None = None) -> Broker:
    """The broker of a test session (see the module's docstring)."""
    wanted = os.environ.get("THRESHOLDS_TEST_BROKER", "")
    if wanted == "apache-kafka":
        from streams.kafka.apache import start_apache_kafka

        kafka = start_apache_kafka(workdir=workdir)
        return Broker(kafka.bootstrap_servers, "apache-kafka", kafka.stop, kafka.log)
    if wanted == "tansu":
        from streams.kafka.embedded import start_embedded_broker

        tansu = start_embedded_broker()
        return Broker(tansu.bootstrap_servers, "tansu", tansu.stop)
    if wanted:
        raise ValueError(f"THRESHOLDS_TEST_BROKER must be apache-kafka or tansu, not {wanted!r}")
    return _find_broker(container=_container, workdir=workdir)


def thresholds(
    harness: Harness, *args: str, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run `thresholds ARGS...` against the harness's broker and topics; never raises on exit."""
    return subprocess.run(  # noqa: S603 - our own command
        [sys.executable, "-m", "streams.cli", *args],
        env={**os.environ, **harness.env, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
