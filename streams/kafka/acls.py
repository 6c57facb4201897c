"""The least privilege each part of the product needs on a broker that
enforces ACLs: the worker, a downstream consumer of an output topic, and
`thresholds produce`. Pure: derived from the settings the worker reads
(topic names, app id, guarantee), printed by `thresholds acls`.
"""

from __future__ import annotations

from dataclasses import dataclass

from streams.config import Settings

__all__ = [
    "Acl",
    "consumer_acls",
    "kafka_acls_command",
    "producer_acls",
    "topics_acls",
    "worker_acls",
]


@dataclass(frozen=True, order=True)
class Acl:
    """One ALLOW rule for a principal: `operation` on a resource."""

    resource_type: str  # TOPIC, GROUP or TRANSACTIONAL_ID
    pattern_type: str  # LITERAL or PREFIXED
    name: str
    operation: str  # READ, WRITE or CREATE (READ and WRITE imply DESCRIBE)
    why: str


def _topic(name: str, operation: str, why: str) -> Acl:
    return Acl("TOPIC", "LITERAL", name, operation, why)


def worker_acls(settings: Settings) -> list[Acl]:
    """What a worker needs, in `settings`' guarantee."""
    t = settings.topics
    internal = f"{settings.app_id}-"
    acls = [
        _topic(t.follower_changes, "READ", "the crossing agent's input"),
        _topic(t.verification_results, "READ", "the policy's input"),
        _topic(t.threshold_crossings, "READ", "the policy's input"),
        _topic(t.threshold_crossings, "WRITE", "the crossings"),
        _topic(t.policy_ticks, "READ", "the policy's clock"),
        _topic(t.policy_ticks, "WRITE", "the leader's ticks"),
        _topic(t.verification_requests, "WRITE", "the policy's requests"),
        _topic(t.account_restrictions, "WRITE", "the policy's restrictions and lifts"),
        _topic(t.follower_changes_dlq, "WRITE", "dead letters of the input"),
        _topic(t.verification_results_dlq, "WRITE", "dead letters of the results"),
        _topic(f"{t.threshold_crossings}-dlq", "WRITE", "dead letters of the crossings"),
        Acl("TOPIC", "PREFIXED", internal, "CREATE", "Faust creates its changelogs"),
        Acl("TOPIC", "PREFIXED", internal, "READ", "the tables' changelogs (recovery)"),
        Acl("TOPIC", "PREFIXED", internal, "WRITE", "the tables' changelogs"),
        Acl("GROUP", "LITERAL", settings.app_id, "READ", "the consumer group"),
    ]
    # a topic named under the app's prefix (the default policy-ticks topic) is
    # covered by the prefixed rules
    covered = {("TOPIC", a.operation) for a in acls if a.pattern_type == "PREFIXED"}
    acls = [
        a
        for a in acls
        if a.pattern_type == "PREFIXED"
        or not (a.name.startswith(internal) and (a.resource_type, a.operation) in covered)
    ]
    if settings.processing_guarantee == "exactly_once":
        acls.append(
            Acl("TRANSACTIONAL_ID", "PREFIXED", internal, "WRITE", "one transaction per partition")
        )
    return acls


def topics_acls(settings: Settings) -> list[Acl]:
    """What `thresholds topics` needs to create every topic (once, before the workers)."""
    internal = f"{settings.app_id}-"
    acls = [
        _topic(topic, "CREATE", "a topic of the product")
        for topic in settings.topics.all()
        if not topic.startswith(internal)
    ]
    acls.append(Acl("TOPIC", "PREFIXED", internal, "CREATE", "the changelogs and the ticks"))
    return acls


def consumer_acls(topic: str, group: str) -> list[Acl]:
    """What a downstream consumer of `topic` in `group` needs."""
    return [
        _topic(topic, "READ", "the records"),
        Acl("GROUP", "LITERAL", group, "READ", "its consumer group"),
    ]


def producer_acls(settings: Settings) -> list[Acl]:
    """What `thresholds produce` needs (follower changes and verification results)."""
    t = settings.topics
    return [
        _topic(t.follower_changes, "WRITE", "follower changes"),
        _topic(t.verification_results, "WRITE", "verification results"),
    ]


def kafka_acls_command(acl: Acl, principal: str) -> str:
    """`acl` for `principal` as a `kafka-acls.sh` command line."""
    resource = {
        "TOPIC": "--topic",
        "GROUP": "--group",
        "TRANSACTIONAL_ID": "--transactional-id",
    }[acl.resource_type]
    return (
        f"kafka-acls.sh --bootstrap-server $BOOTSTRAP --command-config admin.properties "
        f"--add --allow-principal {principal} --operation {acl.operation.title()} "
        f"{resource} {acl.name} --resource-pattern-type {acl.pattern_type.lower()}"
    )
