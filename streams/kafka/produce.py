"""Producing a log into Kafka fast: `thresholds produce`.

confluent-kafka (librdkafka) sends; Python only finds each line's key and
topic. kafka-python's one `send` per record, with its per-record futures,
was the bound (about 9,000 events/s).

Records are keyed `{platform}:{account_id}` and partitioned with murmur2 as
Kafka's Java client does (`murmur2_random`: librdkafka's own default is
CRC32), so a key lands on the partition every other producer puts it on.
One request in flight per broker and no retries reordering: a log's order
per key is its order on the partition.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import msgspec

from streams.codec import VERIFICATION_RESULT, is_utf8
from streams.config import Settings
from streams.core.identity import record_key
from streams.kafka.client import key_and_type, librdkafka_config, refused

__all__ = [
    "ProduceError",
    "fast_key_and_type",
    "new_producer",
    "produce_lines",
]

PROGRESS_EVERY = 20_000
"""Lines between progress reports (and delivery-report polls)."""


class ProduceError(Exception):
    """The broker refused or never acknowledged some records."""


class _KeyFields(msgspec.Struct):
    platform: object = None
    account_id: object = None
    type: object = None


class _Keyed(msgspec.Struct, gc=False):
    """A line whose key fields are both strings, as nearly every line's are."""

    platform: str
    account_id: str
    type: object = None


_decode_key_fields = msgspec.json.Decoder(_KeyFields).decode
_decode_keyed = msgspec.json.Decoder(_Keyed).decode


def fast_key_and_type(raw: bytes) -> tuple[bytes | None, object]:
    """`key_and_type`, reading only the three fields it needs; any line msgspec
    does not read cleanly is left to `key_and_type` itself, so both agree."""
    if raw.isascii():  # msgspec skips unknown fields unread: only ASCII is surely UTF-8
        # types checked in C: the common line costs no Python-level check (a
        # try, not contextlib.suppress, which doubles this function's time)
        try:
            keyed = _decode_keyed(raw)
            return record_key(keyed.platform, keyed.account_id).encode(), keyed.type
        except Exception:  # noqa: S110 - a key field missing or not a string, malformed
            pass
    elif not is_utf8(raw):
        return key_and_type(raw)
    try:
        fields = _decode_key_fields(raw)
        platform, account_id = fields.platform, fields.account_id
        key = None
        if type(platform) is str and type(account_id) is str:
            key = record_key(platform, account_id).encode()
        return key, fields.type
    except Exception:  # malformed, surrogates, not an object: the full path decides
        return key_and_type(raw)


def new_producer(settings: Settings) -> tuple[Any, list[str]]:
    """A confluent-kafka producer tuned for bulk sends in order, and the list
    its delivery failures are added to."""
    from confluent_kafka import Producer

    failures: list[str] = []
    producer = Producer(
        {
            **librdkafka_config(settings),
            "partitioner": "murmur2_random",  # the Java client's, not librdkafka's CRC32
            "acks": "all",
            "linger.ms": 20,
            "batch.size": 1_000_000,
            "queue.buffering.max.messages": 500_000,
            "queue.buffering.max.kbytes": 1_048_576,
            "max.in.flight.requests.per.connection": 1,  # retries keep the log's order
            "delivery.report.only.error": True,  # a callback per failure, not per record
            "on_delivery": lambda err, msg: (
                failures.append(_failure(settings, err, msg)) if err else None
            ),
        }
    )
    return producer, failures


def _failure(settings: Settings, error: Any, message: Any) -> str:
    from confluent_kafka import KafkaError

    if error.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED:
        return refused(settings, f"WRITE on Topic:{message.topic()}")
    return f"{message.topic()}: {error.str()}"


def produce_lines(
    settings: Settings,
    topic: str,
    results_topic: str,
    lines: Iterable[bytes],
    *,
    progress: Callable[[int], None] | None = None,
    timeout: float = 120.0,
) -> int:
    """Send log lines keyed `{platform}:{account_id}` (null when unreadable):
    `VerificationResult` lines to `results_topic`, every other line to `topic`.
    Return how many; ProduceError when any was not acknowledged."""
    producer, failures = new_producer(settings)
    produce, poll = producer.produce, producer.poll
    n = 0
    for n, raw in enumerate(lines, 1):
        key, kind = fast_key_and_type(raw)
        target = results_topic if kind == VERIFICATION_RESULT else topic
        try:
            produce(target, raw, key)
        except BufferError:  # the local queue is full: let librdkafka send some
            _produce_when_room(producer, target, raw, key)
        if not n % PROGRESS_EVERY:
            poll(0)
            if progress is not None:
                progress(n)
    left = producer.flush(timeout)
    if progress is not None:
        progress(n)
    if left or failures:
        first = failures[0] if failures else f"{left} records unacknowledged after {timeout:.0f}s"
        raise ProduceError(f"{len(failures) + left} of {n} records not produced: {first}")
    return n


def _produce_when_room(producer: Any, topic: str, value: bytes, key: bytes | None) -> None:
    while True:
        producer.poll(0.05)
        try:
            producer.produce(topic, value, key)
            return
        except BufferError:
            continue
