"""The worker's topology as data, in one place: every topic (its key, its
value's schema, who reads and who writes it, how it is cleaned up), every
table and its changelog, the consumer group and the names under the app's
prefix. The agents declare their topics and tables from it; `thresholds
topics` creates what it lists with its settings; the metrics, the ACL list
and the start-up checks read it. Pure: derived from the settings alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from streams.config.settings import Settings

__all__ = ["AGENTS", "CROSSINGS", "LEADER", "POLICY", "Table", "Topic", "Topology", "topology"]

CROSSINGS, POLICY, LEADER = "crossings", "policy", "the leader's timer"
AGENTS = (CROSSINGS, POLICY)
"""The worker's agents, by the names Faust knows them."""

ACCOUNT_KEY = "{platform}:{account_id}"


@dataclass(frozen=True, slots=True)
class Topic:
    """One topic of the product and what flows on it."""

    name: str
    kind: str  # "input", "output", "dead letters", "internal" or "changelog"
    about: str  # what it carries, for people (the ACL table, the docs)
    key: str
    value: str  # a schema of schemas/json, or what the bytes are
    cleanup: str = "delete"  # "delete" (kept forever) or "compact" (a changelog)
    read_by: tuple[str, ...] = ()
    written_by: tuple[str, ...] = ()

    @property
    def config(self) -> dict[str, str]:
        """The topic-level settings it is created with (beside min.insync.replicas)."""
        return {"retention.ms": "-1", "cleanup.policy": self.cleanup}


@dataclass(frozen=True, slots=True)
class Table:
    """A Faust table: its name, the agent that owns it, its changelog topic."""

    name: str
    agent: str
    changelog: Topic


@dataclass(frozen=True, slots=True)
class Topology:
    """Every topic and table of one app, with the settings they are made with."""

    app_id: str
    partitions: int
    replication_factor: int
    min_insync_replicas: int
    topics: tuple[Topic, ...]
    tables: tuple[Table, ...]

    @property
    def group(self) -> str:
        """The workers' consumer group."""
        return self.app_id

    @property
    def internal_prefix(self) -> str:
        """What Faust names its own topics with (the changelogs, its leader
        topic) and, under exactly_once, its transactional ids."""
        return f"{self.app_id}-"

    def inputs(self, agent: str) -> list[str]:
        """The topics `agent` reads, in the order it subscribes to them."""
        return [t.name for t in self.topics if agent in t.read_by]

    def of_kind(self, *kinds: str) -> list[str]:
        """The names of the topics of these kinds, changelogs aside."""
        return [t.name for t in self.topics if t.kind in kinds]

    def outputs(self) -> list[str]:
        """The topics the workers write for others: outputs and dead letters."""
        return self.of_kind("output", "dead letters")

    def created(self) -> list[Topic]:
        """Every topic `thresholds topics` creates: the product's and the changelogs."""
        return [*self.topics, *(t.changelog for t in self.tables)]

    def changelogs(self) -> list[str]:
        """The changelog topics of the tables."""
        return [t.changelog.name for t in self.tables]


def topology(settings: Settings) -> Topology:
    """The topology of the worker `settings` describe."""
    t = settings.topics
    topics = (
        Topic(
            t.follower_changes,
            "input",
            "follower-count changes, the crossing agent's input",
            ACCOUNT_KEY,
            "FollowerCountChanged",
            read_by=(CROSSINGS,),
        ),
        Topic(
            t.threshold_crossings,
            "output",
            "the crossings, also the policy's input",
            ACCOUNT_KEY,
            "ThresholdCrossed",
            read_by=(POLICY,),
            written_by=(CROSSINGS,),
        ),
        Topic(
            t.verification_results,
            "input",
            "verification results, the policy's input",
            ACCOUNT_KEY,
            "VerificationResult",
            read_by=(POLICY,),
        ),
        Topic(
            t.policy_ticks,
            "internal",
            "the wall clock, one tick per partition a second, the policy's clock",
            "tick",
            "microseconds since the epoch, as ASCII digits",
            read_by=(POLICY,),
            written_by=(LEADER,),
        ),
        Topic(
            t.verification_requests,
            "output",
            "the policy's verification requests and cancellations",
            ACCOUNT_KEY,
            "VerificationRequested | VerificationCancelled",
            written_by=(POLICY,),
        ),
        Topic(
            t.account_restrictions,
            "output",
            "the policy's restrictions and lifts",
            ACCOUNT_KEY,
            "TrafficRestricted | RestrictionLifted",
            written_by=(POLICY,),
        ),
        Topic(
            t.follower_changes_dlq,
            "dead letters",
            "dead letters of the follower-count changes",
            "the refused record's",
            "DeadLetter",
            written_by=(CROSSINGS,),
        ),
        Topic(
            t.verification_results_dlq,
            "dead letters",
            "dead letters of the verification results",
            "the refused record's",
            "DeadLetter",
            written_by=(POLICY,),
        ),
        Topic(
            f"{t.threshold_crossings}-dlq",
            "dead letters",
            "dead letters of the crossings topic",
            "the refused record's",
            "DeadLetter",
            written_by=(POLICY,),
        ),
    )

    def table(name: str, agent: str, value: str) -> Table:
        changelog = Topic(
            # Faust's own naming: `{app_id}-{table}-changelog`
            f"{settings.app_id}-{name}-changelog",
            "changelog",
            f"the {name} table's changelog",
            "the table's key",
            value,
            cleanup="compact",
            read_by=(agent,),
            written_by=(agent,),
        )
        return Table(name, agent, changelog)

    tables = (
        table("account-state", CROSSINGS, "an account's last count and level"),
        table("policy-state", POLICY, "an account's verification state and deadline"),
        table("policy-clock", POLICY, "each partition's last tick"),
    )
    return Topology(
        settings.app_id,
        settings.partitions,
        settings.replication_factor,
        settings.min_insync_replicas,
        topics,
        tables,
    )
