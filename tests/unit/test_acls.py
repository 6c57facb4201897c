"""The ACLs `thresholds acls` prints, derived from the worker's own settings."""

from __future__ import annotations

from streams.config import Settings
from streams.config.topology import topology
from streams.kafka.acls import (
    consumer_acls,
    kafka_acls_command,
    producer_acls,
    topics_acls,
    worker_acls,
)


def rules(acls: list) -> set[tuple[str, str, str, str]]:
    return {(a.resource_type, a.pattern_type, a.name, a.operation) for a in acls}


def harness_like(guarantee: str = "at_least_once") -> Settings:
    return Settings.from_env(
        {
            "THRESHOLDS_APP_ID": "app",
            "PROCESSING_GUARANTEE": guarantee,
            "TOPIC_POLICY_TICKS": "ticks",
        }
    )


def test_the_worker_reads_its_inputs_and_writes_its_outputs() -> None:
    settings = harness_like()
    t = settings.topics
    granted = rules(worker_acls(settings))

    for topic in (t.follower_changes, t.verification_results, t.threshold_crossings, "ticks"):
        assert ("TOPIC", "LITERAL", topic, "READ") in granted
    for topic in [*topology(settings).outputs(), "ticks"]:
        assert ("TOPIC", "LITERAL", topic, "WRITE") in granted
    assert ("GROUP", "LITERAL", "app", "READ") in granted
    assert ("TOPIC", "PREFIXED", "app-", "CREATE") in granted


def test_only_exactly_once_needs_transactional_ids() -> None:
    def transactional(guarantee: str) -> set[tuple[str, str, str, str]]:
        granted = rules(worker_acls(harness_like(guarantee)))
        return {r for r in granted if r[0] == "TRANSACTIONAL_ID"}

    assert transactional("at_least_once") == set()
    assert transactional("exactly_once") == {("TRANSACTIONAL_ID", "PREFIXED", "app-", "WRITE")}


def test_a_topic_under_the_apps_prefix_is_not_granted_twice() -> None:
    settings = Settings.from_env({"THRESHOLDS_APP_ID": "follower-thresholds"})

    names = {a.name for a in worker_acls(settings)}

    assert settings.topics.policy_ticks.startswith("follower-thresholds-")
    assert settings.topics.policy_ticks not in names


def test_a_consumer_and_the_producer_need_only_their_topics() -> None:
    settings = harness_like()

    assert rules(consumer_acls("threshold-crossings", "billing")) == {
        ("TOPIC", "LITERAL", "threshold-crossings", "READ"),
        ("GROUP", "LITERAL", "billing", "READ"),
    }
    assert {r[3] for r in rules(producer_acls(settings))} == {"WRITE"}


def test_each_acl_is_a_kafka_acls_command() -> None:
    acl = worker_acls(harness_like("exactly_once"))[-1]

    command = kafka_acls_command(acl, "User:worker")

    assert "--allow-principal User:worker --operation Write --transactional-id app-" in command
    assert command.endswith("--resource-pattern-type prefixed")


def test_thresholds_topics_may_create_every_topic_and_changelog() -> None:
    settings = harness_like()
    granted = rules(topics_acls(settings))

    for topic in (t.name for t in topology(settings).topics):
        assert ("TOPIC", "LITERAL", topic, "CREATE") in granted
    assert ("TOPIC", "PREFIXED", "app-", "CREATE") in granted
    assert {r[3] for r in granted} == {"CREATE"}
