"""Offsets the consumer never sees a record at (transaction markers from an
upstream transactional producer, aborted records) are gaps to Faust
(`Consumer._add_gap`). A gap must never be committed past a record that was
not processed, and a legitimate gap must not stop the worker."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from streams.testing.harness import Broker, Harness
from streams.testing.logs import generate_events
from tests.support.expectations import against_replay


def _transactional_produce(
    harness: Harness, lines: list[bytes], per_txn: int, abort_every: int
) -> list[bytes]:
    """Produce `lines` in transactions of `per_txn` records; abort every
    `abort_every`-th transaction. Returns the lines that were committed."""
    from confluent_kafka import Producer

    producer = Producer(
        {
            "bootstrap.servers": harness.bootstrap_servers,
            "transactional.id": f"upstream-{harness.name}",
            "enable.idempotence": True,
        }
    )
    producer.init_transactions(30)
    topic = harness.topics.follower_changes
    committed: list[bytes] = []
    for n, start in enumerate(range(0, len(lines), per_txn), 1):
        chunk = lines[start : start + per_txn]
        producer.begin_transaction()
        for line in chunk:
            value = orjson.loads(line)
            producer.produce(topic, line, f"{value['platform']}:{value['account_id']}".encode())
        # delivered first: an abort racing the transaction's AddPartitions was
        # refused by Kafka 4.1 (INVALID_TXN_STATE, fatal to the producer)
        producer.flush(30)
        if n % abort_every == 0:
            producer.abort_transaction(30)
        else:
            producer.commit_transaction(30)
            committed += chunk
    producer.flush(30)
    return committed


def test_gaps_left_by_an_upstream_transactional_producer_skip_nothing_and_stop_nothing(
    kafka_broker: Broker, tmp_path: Path
) -> None:
    if kafka_broker.kind == "tansu":
        pytest.skip("Tansu has no transactions: nothing upstream can leave these gaps")
    harness = Harness(kafka_broker.bootstrap_servers, partitions=2)
    harness.create_topics()
    lines = [orjson.dumps(v) for v in generate_events(6_000, 400, seed=41)]
    try:
        worker = harness.start_worker()

        committed = _transactional_produce(harness, lines, per_txn=50, abort_every=7)
        harness.wait_processed(timeout=120)

        log = tmp_path / "committed.jsonl"
        log.write_bytes(b"".join(line + b"\n" for line in committed))
        report = against_replay(harness, log)
        assert worker.alive
        assert "were lost inside the worker" not in worker.log.read_text(errors="replace")
        # the worker reads committed records only, none skipped by a gap
        assert report.ok, (report.missing[:3], report.extra[:3])
    finally:
        harness.stop()
