"""`thresholds produce` on the real broker: every line arrives once, in the
log's order per partition, on the partition Kafka's Java client picks for its key."""

from __future__ import annotations

import subprocess
from pathlib import Path

import orjson
import pytest
from kafka.partitioner.default import murmur2

from streams.kafka.client import key_and_type, read_all_raw
from streams.testing.harness import Harness, thresholds
from streams.testing.logs import generate_events, hostile_records, verification_result

pytestmark = pytest.mark.integration

PARTITIONS = 4


def _java_partition(key: bytes) -> int:
    # Kafka's DefaultPartitioner: toPositive(murmur2(key)) % partitions
    return (murmur2(key) & 0x7FFFFFFF) % PARTITIONS


@pytest.fixture
def four_partitions(kafka_bootstrap_servers: str) -> Harness:
    h = Harness(kafka_bootstrap_servers, partitions=PARTITIONS)
    h.create_topics()
    return h


def _produce(h: Harness, log: Path) -> subprocess.CompletedProcess[str]:
    return thresholds(h, "produce", str(log))


def test_produce_sends_every_line_keyed_to_the_java_clients_partition_in_order(
    four_partitions: Harness, tmp_path: Path
) -> None:
    h, t = four_partitions, four_partitions.topics
    lines = [orjson.dumps(v) for v in generate_events(20_000, 500, seed=3)]
    lines += [orjson.dumps(verification_result(f"r{i}")) for i in range(50)]
    lines += [line.replace(b"\n", b" ") for line in hostile_records(300, seed=4)]
    log = tmp_path / "log.jsonl"
    log.write_bytes(b"".join(line + b"\n" for line in lines))

    result = _produce(h, log)

    assert result.returncode == 0, result.stderr
    assert f"produced {len(lines):,} records" in result.stderr
    records = read_all_raw(h.settings, [t.follower_changes, t.verification_results])
    assert sorted(value or b"" for *_, value in records) == sorted(lines)
    keyed = [(partition, key) for _, partition, _, key, _ in records if key is not None]
    assert all(partition == _java_partition(key) for partition, key in keyed)
    # per key, the log's order; VerificationResult lines on their own topic
    expected: dict[tuple[str, bytes], list[bytes]] = {}
    for line in lines:
        key, kind = key_and_type(line)
        if key is not None:
            topic = t.verification_results if kind == "VerificationResult" else t.follower_changes
            expected.setdefault((topic, key), []).append(line)
    got: dict[tuple[str, bytes], list[bytes]] = {}
    for topic, _, _, key, value in sorted(records, key=lambda r: (r[0], r[1], r[2])):
        if key is not None and value is not None:
            got.setdefault((topic, key), []).append(value)
    assert got == expected


def test_produce_to_a_missing_topic_is_refused_in_one_line(
    kafka_bootstrap_servers: str, tmp_path: Path
) -> None:
    h = Harness(kafka_bootstrap_servers)  # no topics
    log = tmp_path / "log.jsonl"
    log.write_bytes(orjson.dumps(verification_result("x")) + b"\n")

    result = _produce(h, log)

    assert result.returncode == 2
    assert "does not exist" in result.stderr
    assert result.stderr.strip().count("\n") == 0
