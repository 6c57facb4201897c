"""The deployment files are exercised even where Docker is absent: the compose
file's broker is the tests' Apache Kafka, with the same server.properties."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from streams.kafka.apache import KAFKA_VERSION
from streams.kafka.client import missing_topics
from streams.testing.harness import Broker, Harness
from streams.testing.logs import follower_change

ROOT = Path(__file__).parent.parent.parent
COMPOSE = (ROOT / "docker-compose.yml").read_text()


def test_the_compose_broker_runs_the_tests_kafka_version() -> None:
    assert f"image: apache/kafka:{KAFKA_VERSION}" in COMPOSE


def test_the_compose_broker_mounts_the_server_properties_the_tests_start_kafka_with() -> None:
    mount = "./streams/kafka/apache/server.properties:/mnt/shared/config/server.properties"

    assert mount in COMPOSE
    assert (ROOT / mount.split(":")[0]).is_file()


def test_thresholds_topics_and_a_worker_run_on_the_compose_brokers_settings(
    kafka_broker: Broker,
) -> None:
    if kafka_broker.kind != "apache-kafka":
        pytest.skip("the compose file's settings are those of the Apache Kafka pass")
    h = Harness(kafka_broker.bootstrap_servers)  # topics not created yet
    env = {**os.environ, **h.env}

    created = subprocess.run(
        [sys.executable, "-m", "streams.cli", "topics"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )

    assert created.returncode == 0, created.stderr
    assert missing_topics(h.settings) == []
    try:
        h.start_worker()
        h.produce([follower_change("compose", 700_000)])
        crossings = h.wait_for(h.topics.threshold_crossings, 1, timeout=30)
        assert crossings[0].value["account_id"] == "compose"
    finally:
        h.stop()
