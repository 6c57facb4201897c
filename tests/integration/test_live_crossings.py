"""The live worker on a real broker agrees with the replay, record for record."""

from __future__ import annotations

import itertools
from pathlib import Path

import orjson

from streams.core.rules import Rules
from streams.kafka.verify import expected_from_log
from streams.testing.harness import Harness
from streams.testing.logs import follower_change, generate_events
from tests.support.expectations import against_replay


def write(tmp_path: Path, values: list[dict[str, object]] | list[bytes]) -> Path:
    log = tmp_path / "log.jsonl"
    log.write_bytes(
        b"".join((v if isinstance(v, bytes) else orjson.dumps(v)) + b"\n" for v in values)
    )
    return log


def test_a_produced_log_yields_exactly_the_crossings_replay_gives(
    thresholds_harness: Harness, tmp_path: Path
) -> None:
    values = list(generate_events(3000, 200, seed=11))
    log = write(tmp_path, values)
    thresholds_harness.start_worker()

    thresholds_harness.produce(values)
    thresholds_harness.wait_processed()

    report = against_replay(thresholds_harness, log)
    assert report.ok, (report.missing[:3], report.extra[:3], report.conflicting[:3])
    assert report.expected > 50


def test_commits_every_few_acks_neither_skip_records_nor_restart_the_worker(
    thresholds_harness: Harness, tmp_path: Path
) -> None:
    # the consumer pauses a fetch's hand-off to commit every N acks; a pause
    # taken for the end of the fetch once dropped the rest of it
    thresholds_harness.commit_every = 50
    values = list(generate_events(20_000, 2_000, seed=12))
    log = write(tmp_path, values)
    worker = thresholds_harness.start_worker()

    thresholds_harness.produce(values)
    thresholds_harness.wait_processed(timeout=120)

    assert "were lost inside the worker" not in worker.log.read_text()
    assert against_replay(thresholds_harness, log).ok


def test_crossings_of_an_account_keep_their_order_on_the_topic(
    thresholds_harness: Harness, tmp_path: Path
) -> None:
    counts = [600_000, 100, 2_000_000, 10, 700_000]
    values = [follower_change("a1", n, f"2023-11-01T00:00:{i:02d}Z") for i, n in enumerate(counts)]
    thresholds_harness.start_worker()

    thresholds_harness.produce(values)
    records = thresholds_harness.wait_for(thresholds_harness.topics.threshold_crossings, 7)

    expected = expected_from_log(write(tmp_path, values), Rules(), thresholds_harness.settings)
    assert [r.value for r in records] == expected[thresholds_harness.topics.threshold_crossings]


def test_a_poison_record_is_dead_lettered_and_the_next_good_record_is_processed(
    thresholds_harness: Harness,
) -> None:
    poison = [b"\xff\xfe not json", b'{"event_id": "x", "followers": 1e6}', b"[]"]
    good = follower_change("after-poison", 600_000)
    thresholds_harness.start_worker()

    thresholds_harness.produce([*poison, good])
    thresholds_harness.wait_processed()

    t = thresholds_harness.topics
    letters = thresholds_harness.read(t.follower_changes_dlq)
    crossings = thresholds_harness.read(t.threshold_crossings)
    assert [r.value["reason"] for r in letters] == [
        "invalid_encoding",
        "missing_field",
        "invalid_json",
    ]
    assert all(r.value["partition"] == 0 and r.value["offset"] is not None for r in letters)
    assert [r.value["account_id"] for r in crossings] == ["after-poison"]


def test_a_record_whose_key_does_not_match_its_value_is_dead_lettered(
    thresholds_harness: Harness,
) -> None:
    from streams.kafka import client as kafka_io

    t = thresholds_harness.topics
    producer_settings = thresholds_harness.settings
    thresholds_harness.start_worker()

    from kafka import KafkaProducer

    producer = KafkaProducer(**kafka_io.client_config(producer_settings))
    producer.send(
        t.follower_changes,
        key=b"weibo:someone-else",
        value=orjson.dumps(follower_change("a1", 600_000)),
    )
    producer.flush()
    producer.close()
    thresholds_harness.wait_processed()

    letters = thresholds_harness.read(t.follower_changes_dlq)
    assert [r.value["reason"] for r in letters] == ["key_mismatch"]
    assert thresholds_harness.read(t.threshold_crossings) == []


def test_a_worker_stopped_mid_log_and_restarted_neither_misses_nor_invents_a_crossing(
    thresholds_harness: Harness, tmp_path: Path
) -> None:
    values = list(generate_events(4000, 150, seed=5))
    log = write(tmp_path, values)
    first = thresholds_harness.start_worker()
    thresholds_harness.produce(values[:2000])
    thresholds_harness.wait_processed()
    first.kill()

    thresholds_harness.start_worker()
    thresholds_harness.produce(values[2000:])
    thresholds_harness.wait_processed()

    report = against_replay(thresholds_harness, log)
    assert report.ok, (report.missing[:3], report.extra[:3], report.conflicting[:3])


_ = itertools
