"""The least privilege each part of the product needs on a broker that
enforces ACLs: the worker, a downstream consumer of an output topic, and
`thresholds produce`. Pure: derived from the settings the worker reads
(topic names, app id, guarantee), printed by `thresholds acls`.
"""

from __future__ import annotations

from dataclasses import dataclass

from streams.config import Settings
from streams.config.topology import topology

__all__ = [
    "Acl",
    "consumer_acls",
    "kafka_acls_command",
    "producer_acls",
    "reader_acls",
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
    """What a worker needs, in `settings`' guarantee: read what its agents
    read, write what they write (the topology's own lists), and the app's
    prefixed names."""
    plan = topology(settings)
    prefix = plan.internal_prefix
    acls = []
    for t in plan.topics:
        if t.name.startswith(prefix):  # the default ticks topic: the prefixed rules cover it
            continue
        if t.read_by:
            acls.append(_topic(t.name, "READ", t.about))
        if t.written_by:
            acls.append(_topic(t.name, "WRITE", t.about))
    acls += [
        Acl("TOPIC", "PREFIXED", prefix, "CREATE", "Faust creates its changelogs and leader topic"),
        Acl("TOPIC", "PREFIXED", prefix, "READ", "the tables' changelogs (recovery)"),
        Acl("TOPIC", "PREFIXED", prefix, "WRITE", "the tables' changelogs"),
        Acl("GROUP", "LITERAL", plan.group, "READ", "the consumer group"),
    ]
    if settings.processing_guarantee == "exactly_once":
        acls.append(
            Acl("TRANSACTIONAL_ID", "PREFIXED", prefix, "WRITE", "one transaction per partition")
        )
    return acls


def topics_acls(settings: Settings) -> list[Acl]:
    """What `thresholds topics` needs to create every topic (once, before the workers)."""
    plan = topology(settings)
    prefix = plan.internal_prefix
    acls = [_topic(t.name, "CREATE", t.about) for t in plan.topics if not t.name.startswith(prefix)]
    acls.append(Acl("TOPIC", "PREFIXED", prefix, "CREATE", "the changelogs and the ticks"))
    return acls


def reader_acls(settings: Settings) -> list[Acl]:
    """What `thresholds verify` and `thresholds tail` need to read every output (no group)."""
    return [_topic(name, "READ", "read back") for name in topology(settings).outputs()]


def consumer_acls(topic: str, group: str) -> list[Acl]:
    """What a downstream consumer of `topic` in `group` needs."""
    return [
        _topic(topic, "READ", "the records"),
        Acl("GROUP", "LITERAL", group, "READ", "its consumer group"),
    ]


def producer_acls(settings: Settings) -> list[Acl]:
    """What `thresholds produce` needs (follower changes and verification results)."""
    return [
        _topic(name, "WRITE", "what the log holds") for name in topology(settings).of_kind("input")
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
