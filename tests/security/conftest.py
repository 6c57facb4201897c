"""A secured Apache Kafka for the security suite (skipped in the embedded
broker's pass and without java and mvn)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from streams.kafka import apache
from streams.kafka.apache.secure import SecureKafka, start_secure_kafka

USER = "alice"
CLIENT = "alice"  # the mutual-TLS certificate of the same principal, User:alice


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/security" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def secure_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureKafka]:
    """SASL_SSL (SCRAM-SHA-256/512, PLAIN) and mutual TLS, ACLs enforced;
    users `admin` (a super user) and `alice` (no ACL)."""
    if os.environ.get("THRESHOLDS_TEST_BROKER") == "tansu" or not apache.can_run():
        pytest.skip("the security suite runs on Apache Kafka")
    broker = start_secure_kafka(
        {
            USER: "alice-secret",
            "worker-at_least_once": "worker-secret-1",
            "worker-exactly_once": "worker-secret-2",
            "rotating": "rotating-secret-1",
            "operator": "operator-secret",
            "auditor": "auditor-secret",
            "producer": "producer-secret",
            "reader": "reader-secret",
            "producer-without-0": "producer-secret-0",
            "producer-without-1": "producer-secret-1",
            "reader-without-read": "reader-secret-2",
            **{
                f"without-{guarantee}-{i}": f"without-secret-{i}"
                for guarantee in ("at_least_once", "exactly_once")
                for i in range(20)
            },
        },
        clients=["admin", CLIENT],
        workdir=tmp_path_factory.mktemp("secure-kafka"),
    )
    try:
        yield broker
    finally:
        broker.stop()
