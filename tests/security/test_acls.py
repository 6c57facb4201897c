"""Least privilege: each part holding exactly the ACLs `thresholds acls` lists
does its work (the worker runs a log to the same outputs as replay, in both
guarantees), on a broker that refuses everything else; without any one of
them it stops naming it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from streams.cli.sandbox import Harness
from streams.config import Settings
from streams.kafka import client as kafka_io
from streams.kafka.acls import (
    Acl,
    consumer_acls,
    producer_acls,
    reader_acls,
    topics_acls,
    worker_acls,
)
from streams.kafka.apache.secure import ADMIN, SecureKafka
from streams.testing.harness import thresholds
from tests.security.test_connections import security
from tests.support.expectations import assert_outputs_equal_replay, log_from_now


def grant(broker: SecureKafka, principal: str, acls: list[Acl]) -> None:
    """Create `acls` for `principal`, as the super user."""
    grant_with(broker.admin_config(), principal, acls)


def grant_with(admin_config: dict[str, Any], principal: str, acls: list[Acl]) -> None:
    """Create `acls` for `principal` with the kafka-python settings of a super user."""
    from kafka.admin import (
        ACL,
        ACLOperation,
        ACLPermissionType,
        ACLResourcePatternType,
        KafkaAdminClient,
        ResourcePattern,
        ResourceType,
    )

    admin = KafkaAdminClient(**admin_config)
    try:
        created = admin.create_acls(
            [
                ACL(
                    principal=principal,
                    host="*",
                    operation=ACLOperation[a.operation],
                    permission_type=ACLPermissionType.ALLOW,
                    resource_pattern=ResourcePattern(
                        ResourceType[a.resource_type],
                        a.name,
                        ACLResourcePatternType[a.pattern_type],
                    ),
                )
                for a in acls
            ]
        )
        assert not created["failed"], created["failed"]
    finally:
        admin.close()


@pytest.mark.parametrize("guarantee", ["at_least_once", "exactly_once"])
def test_a_worker_with_exactly_the_listed_acls_processes_a_log(
    secure_kafka: SecureKafka, tmp_path: Path, guarantee: str
) -> None:
    principal = f"worker-{guarantee}"
    harness = Harness(
        secure_kafka.bootstrap_servers,
        partitions=2,
        processing_guarantee=guarantee,
        security=security(secure_kafka, "SCRAM-SHA-512", ADMIN),
    )
    log, _ = log_from_now(tmp_path, 3_000, seed=28)
    grant(secure_kafka, f"User:{principal}", worker_acls(harness.settings))
    try:
        created = thresholds(harness, "topics", timeout=120)
        assert created.returncode == 0, created.stderr
        harness.start_worker(security=security(secure_kafka, "SCRAM-SHA-512", principal))
        produced = thresholds(harness, "produce", str(log), timeout=120)
        assert produced.returncode == 0, produced.stderr
        harness.wait_processed(timeout=120)

        assert_outputs_equal_replay(harness, log, exactly_once=guarantee == "exactly_once")
    finally:
        harness.stop()


def _errors(worker_log: Path) -> list[str]:
    lines = worker_log.read_text(errors="replace").splitlines() if worker_log.exists() else []
    return [line for line in lines if '"level": "ERROR"' in line or line.startswith("thresholds:")]


@pytest.mark.parametrize("guarantee", ["at_least_once", "exactly_once"])
def test_without_any_one_listed_acl_the_worker_stops_naming_it(
    secure_kafka: SecureKafka, tmp_path: Path, guarantee: str
) -> None:
    log, _ = log_from_now(tmp_path, 300, seed=28)
    probe = Harness(secure_kafka.bootstrap_servers, processing_guarantee=guarantee)
    for i in range(len(worker_acls(probe.settings))):
        harness = Harness(
            secure_kafka.bootstrap_servers,
            partitions=2,
            processing_guarantee=guarantee,
            security=security(secure_kafka, "SCRAM-SHA-512", ADMIN),
        )
        listed = worker_acls(harness.settings)
        missing = listed[i]
        principal = f"without-{guarantee}-{i}"
        grant(secure_kafka, f"User:{principal}", [a for a in listed if a != missing])
        try:
            assert thresholds(harness, "topics", timeout=120).returncode == 0
            worker = harness.start_worker(
                wait=False, security=security(secure_kafka, "SCRAM-SHA-512", principal)
            )
            assert thresholds(harness, "produce", str(log), timeout=120).returncode == 0

            status = worker.process.wait(timeout=30)

            errors = _errors(worker.log)
            assert status != 0
            assert len(errors) == 1, (missing, errors)
            assert missing.operation in errors[0], (missing, errors)
            assert missing.name in errors[0], (missing, errors)
        finally:
            harness.stop()


def _admin_harness(broker: SecureKafka) -> Harness:
    return Harness(
        broker.bootstrap_servers,
        partitions=2,
        security=security(broker, "SCRAM-SHA-512", ADMIN),
    )


SAMPLE = Path(__file__).parents[2] / "streams" / "samples" / "follower-changes.jsonl"
"""A log of both kinds of input: follower changes and verification results."""


def test_thresholds_produce_with_exactly_its_listed_acls_writes_a_log(
    secure_kafka: SecureKafka,
) -> None:
    harness = _admin_harness(secure_kafka)
    t = harness.topics
    grant(secure_kafka, "User:producer", producer_acls(harness.settings))
    try:
        assert thresholds(harness, "topics", timeout=120).returncode == 0
        producer = security(secure_kafka, "SCRAM-SHA-512", "producer")

        produced = thresholds(harness, "produce", str(SAMPLE), env=producer, timeout=120)

        assert produced.returncode == 0, produced.stderr
        written = kafka_io.read_all(harness.settings, [t.follower_changes, t.verification_results])
        sample = [orjson.loads(line) for line in SAMPLE.read_bytes().splitlines()]
        assert sorted(r.value["event_id"] for r in written) == sorted(v["event_id"] for v in sample)
    finally:
        harness.stop()


@pytest.mark.parametrize("i", range(2))
def test_thresholds_produce_without_a_listed_acl_stops_naming_it(
    secure_kafka: SecureKafka, i: int
) -> None:
    harness = _admin_harness(secure_kafka)
    listed = producer_acls(harness.settings)
    missing = listed[i]
    principal = f"producer-without-{i}"
    grant(secure_kafka, f"User:{principal}", [a for a in listed if a != missing])
    try:
        assert thresholds(harness, "topics", timeout=120).returncode == 0
        producer = security(secure_kafka, "SCRAM-SHA-512", principal)

        produced = thresholds(harness, "produce", str(SAMPLE), env=producer, timeout=60)

        assert produced.returncode == 2
        assert len(produced.stderr.strip().splitlines()) == 1, produced.stderr
        assert missing.name in produced.stderr, produced.stderr
        assert "Traceback" not in produced.stderr
    finally:
        harness.stop()


def test_a_consumer_with_exactly_its_listed_acls_reads_an_output_topic(
    secure_kafka: SecureKafka, tmp_path: Path
) -> None:
    from kafka import KafkaConsumer

    harness = _admin_harness(secure_kafka)
    log, _ = log_from_now(tmp_path, 1_000, seed=32)
    topic, group = harness.topics.threshold_crossings, "downstream"
    grant(secure_kafka, "User:reader", consumer_acls(topic, group))
    try:
        assert thresholds(harness, "topics", timeout=120).returncode == 0
        harness.start_worker()
        assert thresholds(harness, "produce", str(log), timeout=120).returncode == 0
        harness.wait_processed(timeout=120)
        expected = len(kafka_io.read_all(harness.settings, [topic]))
        assert expected > 0
        reader = Settings.from_env(
            {**harness.env, **security(secure_kafka, "SCRAM-SHA-512", "reader")}
        )
        consumer = KafkaConsumer(
            topic,
            group_id=group,
            auto_offset_reset="earliest",
            consumer_timeout_ms=20_000,
            **kafka_io.client_config(reader),
        )

        try:
            received = sum(1 for _ in consumer)
            consumer.commit()
        finally:
            consumer.close()

        assert received == expected
    finally:
        harness.stop()


def test_thresholds_tail_without_read_on_an_output_topic_is_refused(
    secure_kafka: SecureKafka,
) -> None:
    harness = _admin_harness(secure_kafka)
    topic = harness.topics.threshold_crossings
    grant(
        secure_kafka,
        "User:reader-without-read",
        [a for a in consumer_acls(topic, "downstream") if a.resource_type != "TOPIC"],
    )
    try:
        assert thresholds(harness, "topics", timeout=120).returncode == 0
        reader = security(secure_kafka, "SCRAM-SHA-512", "reader-without-read")

        tail = thresholds(harness, "tail", topic, "--count", "1", env=reader, timeout=60)

        assert tail.returncode == 2
        assert len(tail.stderr.strip().splitlines()) == 1, tail.stderr
        assert f"READ on Topic:{topic}" in tail.stderr
    finally:
        harness.stop()


def test_a_worker_restarted_with_a_rotated_password_goes_on_where_it_stopped(
    secure_kafka: SecureKafka, tmp_path: Path
) -> None:
    harness = _admin_harness(secure_kafka)
    log, lines = log_from_now(tmp_path, 2_000, seed=33)
    grant(secure_kafka, "User:rotating", worker_acls(harness.settings))
    password = tmp_path / "rotating.password"
    password.write_text(secure_kafka.users["rotating"])
    worker_security = {
        **security(secure_kafka, "SCRAM-SHA-512", "rotating"),
        "KAFKA_SASL_PASSWORD_FILE": str(password),
    }
    del worker_security["KAFKA_SASL_PASSWORD"]
    try:
        assert thresholds(harness, "topics", timeout=120).returncode == 0
        worker = harness.start_worker(security=worker_security)
        harness.produce(lines[:1_000])
        harness.wait_processed(timeout=120)
        old = secure_kafka.users["rotating"]

        secure_kafka.set_password("rotating", "rotating-secret-2")
        password.write_text("rotating-secret-2\n")  # the mounted secret, updated
        worker.terminate()
        harness.start_worker(security=worker_security)
        harness.produce(lines[1_000:])
        harness.wait_processed(timeout=120)

        assert_outputs_equal_replay(harness, log, exactly_once=False)
        with_old = {
            **security(secure_kafka, "SCRAM-SHA-512", "rotating"),
            "KAFKA_SASL_PASSWORD": old,
        }
        assert thresholds(harness, "topics", env=with_old, timeout=120).returncode == 2
    finally:
        harness.stop()


def test_thresholds_topics_with_exactly_its_listed_acls_creates_every_topic(
    secure_kafka: SecureKafka,
) -> None:
    harness = _admin_harness(secure_kafka)
    grant(secure_kafka, "User:operator", topics_acls(harness.settings))
    operator = security(secure_kafka, "SCRAM-SHA-512", "operator")

    created = thresholds(harness, "topics", env=operator, timeout=120)

    assert created.returncode == 0, created.stderr
    assert kafka_io.missing_topics(harness.settings) == []


def test_thresholds_verify_with_exactly_its_listed_acls_checks_a_log(
    secure_kafka: SecureKafka, tmp_path: Path
) -> None:
    harness = _admin_harness(secure_kafka)
    log, _ = log_from_now(tmp_path, 1_000, seed=34)
    grant(secure_kafka, "User:auditor", reader_acls(harness.settings))
    try:
        assert thresholds(harness, "topics", timeout=120).returncode == 0
        harness.start_worker()
        assert thresholds(harness, "produce", str(log), timeout=120).returncode == 0
        harness.wait_processed(timeout=120)
        auditor = security(secure_kafka, "SCRAM-SHA-512", "auditor")

        verified = thresholds(harness, "verify", "--log", str(log), "--policy", env=auditor)
        tail = thresholds(
            harness, "tail", harness.topics.threshold_crossings, "--count", "1", env=auditor
        )

        assert verified.returncode == 0, verified.stdout + verified.stderr
        assert tail.returncode == 0, tail.stderr
    finally:
        harness.stop()
