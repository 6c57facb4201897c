"""kafka-python tools: check the broker, create topics, produce a log, read topics.

"Everything produced so far" is decided by the fetch high watermark, never by
`end_offsets` alone: some brokers (Tansu) answer ListOffsets with the start of
the last batch + 1.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from streams import codec
from streams.config import ConfigError, Settings
from streams.config.topology import POLICY, topology
from streams.kafka.bootstrap import answering, untrusted_certificate

_R = TypeVar("_R")

__all__ = [
    "SECURITY_OPTIONS",
    "BrokerUnavailable",
    "ConsumedRecord",
    "authentication_error",
    "changelog_topics",
    "client_config",
    "decoded",
    "ensure_topics",
    "high_watermarks",
    "key_and_type",
    "librdkafka_config",
    "missing_topics",
    "open_consumer",
    "partition_counts",
    "policy_input_topics",
    "read_all",
    "read_all_values",
    "refused",
    "refused_topics",
    "send_raw",
    "tail",
    "topic_access",
    "wait_committed",
]


class BrokerUnavailable(ConfigError):
    """The broker did not answer; the message is one line for people."""


SECURITY_OPTIONS: dict[str, tuple[str, str]] = {
    "KAFKA_SECURITY_PROTOCOL": ("security_protocol", "security.protocol"),
    "KAFKA_SASL_MECHANISM": ("sasl_mechanism", "sasl.mechanism"),
    "KAFKA_SASL_USERNAME": ("sasl_plain_username", "sasl.username"),
    "KAFKA_SASL_PASSWORD": ("sasl_plain_password", "sasl.password"),
    "KAFKA_SSL_CAFILE": ("ssl_cafile", "ssl.ca.location"),
    "KAFKA_SSL_CERTFILE": ("ssl_certfile", "ssl.certificate.location"),
    "KAFKA_SSL_KEYFILE": ("ssl_keyfile", "ssl.key.location"),
}
"""Each security variable: (kafka-python's option, librdkafka's option)."""


def client_config(settings: Settings) -> dict[str, Any]:
    """kafka-python connection settings from the environment's settings."""
    sec = settings.security
    servers = answering(settings.bootstrap_servers.split(","), sec)
    config: dict[str, Any] = {"bootstrap_servers": servers}
    for env_name, (option, _) in SECURITY_OPTIONS.items():
        if env_name in sec:
            config[option] = sec[env_name]
    return config


def librdkafka_config(settings: Settings) -> dict[str, Any]:
    """librdkafka's connection settings from the environment's settings."""
    config: dict[str, Any] = {"bootstrap.servers": settings.bootstrap_servers}
    for env_name, (_, option) in SECURITY_OPTIONS.items():
        if env_name in settings.security:
            config[option] = settings.security[env_name]
    return config


def _quiet_kafka_logs() -> None:
    # kafka-python logs every failed connection attempt as an error with a
    # traceback; our callers report one line instead
    logging.getLogger("kafka").setLevel(logging.CRITICAL)


ATTEMPT_SECONDS = 3.0
"""One try of an admin operation: kafka-python bootstraps from one broker picked
at random and gives it the whole timeout, so a hung broker (it accepts the
connection, then answers nothing) would take it all; short tries, repeated,
find a broker that answers."""


def _with_admin(settings: Settings, operation: Callable[[Any], _R], timeout: float = 30.0) -> _R:
    """Run `operation(admin)` on a fresh admin client, trying again within
    `timeout` seconds while no broker answers; BrokerUnavailable after that."""
    from kafka.admin import KafkaAdminClient
    from kafka.errors import KafkaError

    _quiet_kafka_logs()
    deadline = time.monotonic() + timeout
    asked_why = False
    while True:
        attempt_ms = int(1000 * min(ATTEMPT_SECONDS, max(0.5, deadline - time.monotonic())))
        try:
            admin = KafkaAdminClient(
                **client_config(settings),
                request_timeout_ms=attempt_ms,
                bootstrap_timeout_ms=attempt_ms,
            )
            try:
                return operation(admin)
            finally:
                admin.close()
        except (KafkaError, OSError, ValueError) as exc:
            if time.monotonic() >= deadline or not _retriable(exc):
                raise BrokerUnavailable(_explain(settings, exc)) from None
            if not asked_why:  # a refused login is no reason to try for 30 s
                asked_why = True
                refused = authentication_error(settings, timeout=ATTEMPT_SECONDS)
                if refused:
                    raise BrokerUnavailable(refused) from None


def _explain(settings: Settings, exc: BaseException) -> str:
    """One line for people, a refused permission named."""
    name = type(exc).__name__
    if "AuthorizationFailed" in name:
        return refused(settings, f"{name} ({_reason(exc)})")
    return f"cannot reach Kafka at {settings.bootstrap_servers}: {name}"


def refused(settings: Settings, what: str) -> str:
    """One line: the broker refused this client `what` (an operation on a resource)."""
    return (
        f"Kafka refused {_principal(settings)}: {what}; "
        "`thresholds acls` lists the ACLs each part needs"
    )


def _principal(settings: Settings) -> str:
    """Who this client is to the broker, as far as the settings say."""
    user = settings.security.get("KAFKA_SASL_USERNAME")
    if user:
        return f"User:{user}"
    certificate = settings.security.get("KAFKA_SSL_CERTFILE")
    if certificate:
        from cryptography import x509

        with contextlib.suppress(OSError, ValueError):
            subject = x509.load_pem_x509_certificate(Path(certificate).read_bytes()).subject
            return f"this client (certificate {subject.rfc4514_string()})"
    return "this client"


def _reason(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return text[:200] or "no detail"


_TLS_ALERT = "ssl/tls alert"
_CERTIFICATE_HINT = (
    "the broker refused the TLS handshake: it wants a client certificate its CA "
    "signed (KAFKA_SSL_CERTFILE, KAFKA_SSL_KEYFILE)"
)


def authentication_error(settings: Settings, timeout: float = 5.0) -> str | None:
    """One line on why the brokers refuse this client's credentials or
    certificate, or this client theirs, asked through librdkafka (which
    reports a failed SASL or TLS handshake as such); None when no one
    refuses, or with no security configured."""
    if settings.security.get("KAFKA_SECURITY_PROTOCOL", "PLAINTEXT").upper() == "PLAINTEXT":
        return None
    from confluent_kafka import KafkaError as RdKafkaError
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient

    found: list[str] = []

    def on_error(error: RdKafkaError) -> None:
        if error.code() in (RdKafkaError._AUTHENTICATION, RdKafkaError._SSL):
            found.append(error.str())
        elif error.code() == RdKafkaError._TRANSPORT and _TLS_ALERT in error.str():
            # the broker ended the handshake: a missing or refused client certificate
            found.append(f"{error.str()}; {_CERTIFICATE_HINT}")

    config: dict[str, Any] = {**librdkafka_config(settings), "error_cb": on_error, "log_level": 0}
    admin = AdminClient(config)
    with contextlib.suppress(KafkaException):
        admin.list_topics(timeout=timeout)
    admin.poll(0.1)  # serves the error callbacks
    if not found:
        return None
    if "certificate verify failed" in found[0]:
        server = settings.bootstrap_servers.split(",")[0]
        why = untrusted_certificate(server, settings.security)
        if why:
            return f"this client does not trust the certificate of Kafka at {server}: {why}"
    secret = settings.security.get("KAFKA_SASL_PASSWORD")
    text = found[0].splitlines()[0][:400]
    text = text.replace(secret, "***") if secret else text
    return f"Kafka at {settings.bootstrap_servers} refused this client: {text}"


def _retriable(exc: BaseException) -> bool:
    from kafka.errors import KafkaError

    return not isinstance(exc, KafkaError) or bool(getattr(exc, "retriable", True))


def changelog_topics(settings: Settings) -> list[str]:
    """The changelog topics of the worker's tables."""
    return topology(settings).changelogs()


def missing_topics(settings: Settings) -> list[str]:
    """The product's topics that do not exist on the broker."""
    return topic_access(settings)[0]


def topic_access(settings: Settings) -> tuple[list[str], list[str]]:
    """(the product's topics that do not exist, those this client may not
    see): a broker lists only the topics a principal may describe, so a
    topic missing from the list is asked for by name."""

    def ask(admin: Any) -> tuple[list[str], list[str]]:
        existing = set(admin.list_topics())
        unlisted = [t.name for t in topology(settings).topics if t.name not in existing]
        if not unlisted:
            return [], []
        refused = _refused(admin, unlisted)
        return [t for t in unlisted if t not in refused], refused

    return _with_admin(settings, ask)


def refused_topics(settings: Settings, topics: list[str]) -> list[str]:
    """Those of `topics` the broker refuses to describe to this client."""
    return _with_admin(settings, lambda admin: _refused(admin, topics))


def _refused(admin: Any, topics: list[str]) -> list[str]:
    # 29: TOPIC_AUTHORIZATION_FAILED (3, UNKNOWN_TOPIC_OR_PARTITION, is missing)
    return [d["name"] for d in admin.describe_topics(topics) if d["error_code"] == 29]


def ensure_topics(settings: Settings) -> list[str]:
    """Create every missing topic with explicit settings; return those created."""
    from kafka.admin import NewTopic
    from kafka.errors import TopicAlreadyExistsError

    def create(admin: Any) -> list[str]:
        existing = set(admin.list_topics())
        plan = topology(settings)
        durability = {"min.insync.replicas": str(plan.min_insync_replicas)}
        new = [
            NewTopic(
                t.name,
                plan.partitions,
                plan.replication_factor,
                topic_configs={**t.config, **durability},
            )
            for t in plan.created()
            if t.name not in existing
        ]
        if new:
            # another worker was first, or an earlier try created them
            with contextlib.suppress(TopicAlreadyExistsError):
                admin.create_topics(new)
        return [t.name for t in new]

    return _with_admin(settings, create)


def _producer(settings: Settings) -> Any:
    from kafka import KafkaProducer

    _quiet_kafka_logs()
    return KafkaProducer(**client_config(settings), linger_ms=5, batch_size=256 * 1024, acks="all")


def send_raw(
    settings: Settings, topic: str, records: Iterable[tuple[bytes | None, bytes | None]]
) -> int:
    """Send (key, value) records to `topic` exactly as given, in order."""
    producer = _producer(settings)
    failures: list[BaseException] = []
    n = 0
    try:
        for key, value in records:
            producer.send(topic, key=key, value=value).add_errback(failures.append)
            n += 1
        producer.flush()
    finally:
        producer.close()
    if failures:  # flush() returns whether or not the broker took them
        raise BrokerUnavailable(f"{len(failures)} of {n} records not produced: {failures[0]!r}")
    return n


def partition_counts(settings: Settings) -> dict[str, int]:
    """Partitions of every existing topic of the product and of its changelogs."""
    consumer = _consumer(settings)
    try:
        counts = {}
        for topic in (t.name for t in topology(settings).created()):
            partitions = consumer.partitions_for_topic(topic)
            if partitions:
                counts[topic] = len(partitions)
        return counts
    finally:
        consumer.close()


def policy_input_topics(settings: Settings) -> list[str]:
    """The topics the policy agent reads, co-partitioned with its tables."""
    return topology(settings).inputs(POLICY)


def key_and_type(raw: bytes) -> tuple[bytes | None, object]:
    """The spec's key of a log line (None when unreadable) and its `type`."""
    try:
        obj = codec.parse_json(raw)
    except codec.Rejected:
        return None, None
    if type(obj) is not dict:
        return None, None
    platform, account_id = obj.get("platform"), obj.get("account_id")
    key = None
    if type(platform) is str and type(account_id) is str:
        key = codec.record_key(platform, account_id).encode()
    return key, obj.get("type")


@dataclass(frozen=True, slots=True)
class ConsumedRecord:
    """A record read back from a topic."""

    topic: str
    partition: int
    offset: int
    key: str | None
    value: dict[str, Any]


def _consumer(
    settings: Settings, fetch_max_wait_ms: int = 100, *, committed_only: bool = False
) -> Any:
    from kafka import KafkaConsumer

    _quiet_kafka_logs()
    return KafkaConsumer(
        **client_config(settings),
        enable_auto_commit=False,
        group_id=None,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=fetch_max_wait_ms,
        isolation_level="read_committed" if committed_only else "read_uncommitted",
    )


def decoded(msg: Any) -> ConsumedRecord:
    """A kafka-python message with its JSON value parsed.

    A value that is not a JSON object (anyone can write to a topic) is shown
    as `{"type": null, "undecodable": ...}`: readers never stop on it.
    """
    key = None if msg.key is None else msg.key.decode("utf-8", "replace")
    try:
        value = codec.parse_json(msg.value) if msg.value is not None else None
    except codec.Rejected:
        value = None
    if type(value) is not dict:
        raw = msg.value or b""
        value = {"type": None, "undecodable": raw.decode("utf-8", "backslashreplace")}
    return ConsumedRecord(msg.topic, msg.partition, msg.offset, key, value)


def read_all(
    settings: Settings,
    topics: Iterable[str],
    *,
    timeout: float = 30.0,
    committed_only: bool = False,
) -> list[ConsumedRecord]:
    """Every record on `topics` so far, by partition order, read to the fetch high watermark.

    `committed_only` reads as a `read_committed` consumer: records of aborted
    or open transactions are left out.
    """
    return _read_to_end(settings, topics, decoded, timeout, committed_only)


def read_all_values(
    settings: Settings, topics: Iterable[str], *, timeout: float = 30.0
) -> list[bytes | None]:
    """The raw values of every record on `topics` so far (e.g. changelogs, not JSON)."""
    return _read_to_end(settings, topics, lambda m: m.value, timeout)


def read_all_raw(
    settings: Settings, topics: Iterable[str], *, timeout: float = 30.0
) -> list[tuple[str, int, int, bytes | None, bytes | None]]:
    """(topic, partition, offset, key, value) of every record on `topics` so far, as sent."""
    return _read_to_end(
        settings, topics, lambda m: (m.topic, m.partition, m.offset, m.key, m.value), timeout
    )


def _read_to_end(
    settings: Settings,
    topics: Iterable[str],
    record: Callable[[Any], _R],
    timeout: float,
    committed_only: bool = False,
) -> list[_R]:
    topics = list(topics)
    consumer = _consumer(settings, committed_only=committed_only)
    try:
        tps = _partitions(settings, consumer, topics)
        if not tps:
            return []
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        out: list[_R] = []
        deadline = time.monotonic() + timeout
        while True:
            for batch in consumer.poll(timeout_ms=200).values():
                out.extend(record(m) for m in batch)
            if _caught_up(consumer, tps):
                return out
            if time.monotonic() > deadline:
                raise TimeoutError(f"did not reach the end of {sorted(set(topics))} in {timeout}s")
    finally:
        consumer.close()


def _caught_up(consumer: Any, tps: list[Any]) -> bool:
    for tp in tps:
        highwater = consumer.highwater(tp)
        if highwater is None or consumer.position(tp) < highwater:
            return False
    return True


def _partitions(
    settings: Settings, consumer: Any, topics: Iterable[str], timeout: float = 30.0
) -> list[Any]:
    """Every partition of `topics`, in topic then partition order. A topic the
    client has no metadata for yet (a broker that does not answer) is asked
    again within `timeout`; BrokerUnavailable names a topic still unknown, or
    at once one the broker hides from this client (no ACL to read it)."""
    from kafka import TopicPartition

    started = time.monotonic()
    deadline = started + timeout
    found = []
    for topic in topics:
        partitions = consumer.partitions_for_topic(topic)
        asked_why = False
        while not partitions:
            if time.monotonic() > deadline:
                raise BrokerUnavailable(f"no partitions of {topic} known: does it exist?")
            if not asked_why and time.monotonic() > started + 2 * ATTEMPT_SECONDS:
                asked_why = True
                if topic in refused_topics(settings, [topic]):
                    raise BrokerUnavailable(refused(settings, f"READ on Topic:{topic}"))
            time.sleep(0.2)
            partitions = consumer.partitions_for_topic(topic)
        found += [TopicPartition(topic, p) for p in sorted(partitions)]
    return found


def open_consumer(
    settings: Settings, topics: Iterable[str], *, fetch_max_wait_ms: int = 100
) -> Any:
    """A consumer assigned every partition of `topics`, from the beginning, no group."""
    consumer = _consumer(settings, fetch_max_wait_ms)
    tps = _partitions(settings, consumer, topics)
    consumer.assign(tps)
    consumer.seek_to_beginning(*tps)
    return consumer


def tail(settings: Settings, topics: Iterable[str]) -> Iterator[ConsumedRecord]:
    """Records of `topics` from the beginning, then as they arrive, until the caller stops."""
    consumer = open_consumer(settings, topics)
    try:
        while True:
            for batch in consumer.poll(timeout_ms=200).values():
                for m in batch:
                    yield decoded(m)
    finally:
        consumer.close()


def by_topic(records: Iterable[ConsumedRecord]) -> Mapping[str, list[ConsumedRecord]]:
    """Records grouped by topic, each in its consumed order."""
    grouped: dict[str, list[ConsumedRecord]] = {}
    for r in records:
        grouped.setdefault(r.topic, []).append(r)
    return grouped


def high_watermarks(settings: Settings, tps: list[Any], timeout: float = 30.0) -> dict[Any, int]:
    """True end offsets, read from fresh fetch responses (ListOffsets can be wrong on Tansu)."""
    consumer = _consumer(settings)
    try:
        consumer.assign(tps)
        # from the reported end, minus one so every non-empty partition returns a record
        reported = consumer.end_offsets(tps)
        for tp in tps:
            consumer.seek(tp, max(0, reported[tp] - 1))
        deadline = time.monotonic() + timeout
        while any(consumer.highwater(tp) is None for tp in tps):
            consumer.poll(timeout_ms=100)
            if time.monotonic() > deadline:
                raise TimeoutError("no fetch response for the high watermark")
        return {tp: consumer.highwater(tp) for tp in tps}
    finally:
        consumer.close()


def _records_after(settings: Settings, tp: Any, offset: int, end: int) -> bool:
    """Whether a read_committed consumer is given any record of `tp` in [offset, end)."""
    consumer = _consumer(settings, committed_only=True)
    try:
        consumer.assign([tp])
        consumer.seek(tp, offset)
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:
            if consumer.poll(timeout_ms=200).get(tp):
                return True
            if consumer.position(tp) >= end:
                return False
        return True  # an open transaction holds the rest back: not done yet
    finally:
        consumer.close()


def wait_committed(
    settings: Settings, group: str, topics: Iterable[str], *, timeout: float = 60.0
) -> None:
    """Block until `group` has committed every partition of `topics` to its high watermark."""
    from kafka import KafkaConsumer

    consumer = _consumer(settings)
    # never subscribes, so never joins: it only reads the group's committed offsets
    group_reader = KafkaConsumer(
        **client_config(settings), group_id=group, enable_auto_commit=False
    )
    try:
        tps = _partitions(settings, consumer, topics)
        deadline = time.monotonic() + timeout
        # A high watermark costs a fresh consumer and a decoded batch per
        # partition (10 ms of CPU with 16 KB batches here), the committed
        # offsets one request: poll those, and read the watermarks again only
        # once they are reached, in case the topics grew meanwhile.
        ends = high_watermarks(settings, tps, timeout)
        last: dict[Any, int | None] = {}  # each partition's committed offset at the last poll
        still: dict[Any, int] = {}  # polls in a row it stood still
        # (committed, end) pairs a probe found nothing readable between: such a
        # partition is done for as long as both stay put (several partitions can
        # stop short at different polls, so a probe's answer must be kept)
        drained: dict[Any, tuple[int | None, int]] = {}
        while True:
            behind = {}
            for tp, end in ends.items():
                done = group_reader.committed(tp)
                if end > 0 and (done is None or done < end):
                    behind[tp] = (done, end)
                still[tp] = still.get(tp, 0) + 1 if tp in last and last[tp] == done else 0
                last[tp] = done
            # transactions leave markers (and aborted records) that no consumer
            # is given: a partition whose group has stopped short of the end
            # for a second may have only those left (asked only then: a probe
            # costs a consumer and a fetch)
            for tp, (done, end) in behind.items():
                probe = still[tp] % 5 == 4 and drained.get(tp) != (done, end)
                if probe and not _records_after(settings, tp, done or 0, end):
                    drained[tp] = (done, end)
            behind = {tp: pair for tp, pair in behind.items() if drained.get(tp) != pair}
            if not behind:
                now = high_watermarks(settings, tps, timeout)
                if now == ends:
                    return
                ends = now
            elif time.monotonic() > deadline:
                raise TimeoutError(f"group {group} still behind after {timeout}s: {behind}")
            else:
                time.sleep(0.2)
    finally:
        consumer.close()
        group_reader.close()
