"""Least privilege: a worker holding exactly the ACLs `thresholds acls` lists
runs a log to the same outputs as replay, in both guarantees, on a broker
that refuses everything else."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.cli.sandbox import Harness
from streams.kafka.acls import Acl, worker_acls
from streams.kafka.apache.secure import ADMIN, SecureKafka
from streams.testing.harness import thresholds
from tests.faults.expectations import assert_outputs_equal_replay, log_from_now
from tests.security.test_connections import security


def grant(broker: SecureKafka, principal: str, acls: list[Acl]) -> None:
    """Create `acls` for `principal`, as the super user."""
    from kafka.admin import (
        ACL,
        ACLOperation,
        ACLPermissionType,
        ACLResourcePatternType,
        KafkaAdminClient,
        ResourcePattern,
        ResourceType,
    )

    admin = KafkaAdminClient(**broker.admin_config())
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
