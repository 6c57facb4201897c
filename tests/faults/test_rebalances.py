"""Partitions moving between live workers while a log is processed, in both
guarantees (SPEC.md, "Guarantees under faults"): workers join, leave with
SIGTERM and die with SIGKILL on a seeded schedule, one always running.
Afterwards every output topic holds exactly replay's ids (read_committed:
each once under exactly_once), every worker stopped exits 0, and none
exited by itself."""

from __future__ import annotations

import os
import random
import time
import uuid
from pathlib import Path

import pytest

from streams.core.policy import DAY_US
from streams.core.timestamps import format_utc
from streams.kafka.client import client_config
from streams.testing.harness import Broker, Harness, Worker
from streams.testing.logs import follower_change
from tests.support.expectations import (
    JOINING,
    assert_outputs_equal_replay,
    errors_of,
    log_from_now,
    stop_each_cleanly,
    wait_logged,
    wait_processed,
)

ACTIONS = ("scale_out", "sigterm", "sigkill")


def schedule(seed: int, length: int, start: int) -> list[str]:
    """`length` actions drawn from ACTIONS, never leaving no worker running."""
    rng = random.Random(seed)
    running, actions = start, []
    for _ in range(length):
        action = rng.choice(ACTIONS) if running > 1 else "scale_out"
        running += 1 if action == "scale_out" else -1
        actions.append(action)
    return actions


def test_a_schedule_never_leaves_the_group_without_a_worker() -> None:
    for seed in range(200):
        running = 2
        for action in schedule(seed, 12, start=2):
            running += 1 if action == "scale_out" else -1
            assert running >= 1


@pytest.mark.parametrize("guarantee", ["at_least_once", "exactly_once"])
def test_partitions_moving_between_live_workers_lose_invent_and_repeat_nothing(
    kafka_broker: Broker, tmp_path: Path, guarantee: str
) -> None:
    if guarantee == "exactly_once" and kafka_broker.kind == "tansu":
        pytest.skip("Tansu has no transactions; exactly_once runs on Apache Kafka")
    harness = Harness(kafka_broker.bootstrap_servers, partitions=4, processing_guarantee=guarantee)
    harness.create_topics()
    seed = int(os.environ.get("THRESHOLDS_FAULT_SEED", "26"))
    log, lines = log_from_now(tmp_path, 36_000, seed=seed)
    actions = schedule(seed, 8, start=2)
    chunks = [lines[i * 3_600 : (i + 1) * 3_600] for i in range(10)]
    rng = random.Random(seed)
    running: list[Worker] = []
    stopped: list[tuple[Worker, int | None]] = []
    behind_at_action: list[int] = []
    try:
        running += [harness.start_worker(), harness.start_worker(wait=False)]
        harness.produce(chunks[0])
        for action, chunk in zip(actions, chunks[1:-1], strict=True):
            harness.produce(chunk)
            time.sleep(rng.uniform(0.0, 0.4))  # the fault's moment
            behind_at_action.append(uncommitted(harness))
            exited = [w for w in running if not w.alive]
            assert not exited, f"a worker exited by itself: {errors_of(exited[0])}"
            if action == "scale_out":
                running.append(harness.start_worker(wait=False))
                continue
            victim = running.pop(rng.randrange(len(running)))
            if action == "sigterm":
                victim.terminate(timeout=60)
            else:
                victim.kill()
            stopped.append((victim, victim.process.returncode if action == "sigterm" else None))
        harness.produce(chunks[-1])
        wait_processed(harness, 300)

        mid = sum(1 for behind in behind_at_action if behind > 0)
        assert mid >= len(actions) - 1, f"input left uncommitted at each action: {behind_at_action}"
        exited = [w for w in running if not w.alive]
        assert not exited, f"a worker exited by itself: {errors_of(exited[0])}"
        for worker, code in stopped:
            assert code in (None, 0), f"SIGTERM exit {code}: {errors_of(worker)}"
        assert_outputs_equal_replay(harness, log, exactly_once=guarantee == "exactly_once")
        stop_each_cleanly(running)
    finally:
        harness.stop()


@pytest.mark.parametrize("guarantee", ["at_least_once", "exactly_once"])
def test_the_records_fetched_first_after_a_rebalance_are_processed_not_dropped(
    kafka_broker: Broker, tmp_path: Path, guarantee: str
) -> None:
    # A fetch that waits for a rebalance to end returns the new assignment's
    # records; taken for stale, they were dropped: lost for a partition with
    # no committed offset yet, and a restart by the input guard for the rest.
    if guarantee == "exactly_once" and kafka_broker.kind == "tansu":
        pytest.skip("Tansu has no transactions; exactly_once runs on Apache Kafka")
    harness = Harness(kafka_broker.bootstrap_servers, partitions=4, processing_guarantee=guarantee)
    harness.create_topics()
    log, lines = log_from_now(tmp_path, 30_000, seed=29)
    try:
        harness.produce(lines)  # a backlog: every fetch is a full one
        workers = [harness.start_worker()]
        for _ in range(2):  # each join moves partitions in the middle of the backlog
            workers.append(harness.start_worker(wait=False))
            time.sleep(1.0)
        wait_processed(harness, 180)

        for worker in workers:
            assert "were lost inside the worker" not in worker.log.read_text(errors="replace")
        assert_outputs_equal_replay(harness, log, exactly_once=guarantee == "exactly_once")
    finally:
        harness.stop()


def uncommitted(harness: Harness) -> int:
    """Input records the group has not committed yet."""
    from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

    config = client_config(harness.settings)
    topic = harness.topics.follower_changes
    tps = [TopicPartition(topic, p) for p in range(harness.partitions)]
    admin = KafkaAdminClient(**config)
    consumer = KafkaConsumer(**config)
    try:
        committed = admin.list_group_offsets(harness.settings.app_id)
        ends = consumer.end_offsets(tps)
        return sum(ends[tp] - (committed[tp].offset if tp in committed else 0) for tp in tps)
    finally:
        admin.close()
        consumer.close()


def test_a_producer_fenced_by_a_new_owner_is_a_rebalance_not_a_crash(
    kafka_broker: Broker, tmp_path: Path
) -> None:
    if kafka_broker.kind == "tansu":
        pytest.skip("Tansu has no transactions; exactly_once runs on Apache Kafka")
    from confluent_kafka import Producer

    harness = Harness(
        kafka_broker.bootstrap_servers, partitions=4, processing_guarantee="exactly_once"
    )
    harness.create_topics()
    log, lines = log_from_now(tmp_path, 12_000, seed=27)
    try:
        worker = harness.start_worker()
        harness.produce(lines[:6_000])
        # what a new owner's producer does on its first start: init_transactions
        # with the partition's transactional id fences the old owner's producer
        app_id = harness.settings.app_id
        for transactional_id in [f"{app_id}-{g}-{p}" for g in (0, 1) for p in range(4)]:
            Producer(
                {
                    "bootstrap.servers": harness.bootstrap_servers,
                    "transactional.id": transactional_id,
                }
            ).init_transactions(30)
        harness.produce(lines[6_000:])
        harness.wait_processed(timeout=180)

        assert worker.alive, errors_of(worker)
        assert b"rejoining the group" in worker.log.read_bytes()
        assert_outputs_equal_replay(harness, log, exactly_once=True)
    finally:
        harness.stop()


@pytest.mark.parametrize("guarantee", ["at_least_once", "exactly_once"])
def test_a_deadline_whose_account_changes_owner_fires_exactly_once(
    kafka_broker: Broker, guarantee: str
) -> None:
    if guarantee == "exactly_once" and kafka_broker.kind == "tansu":
        pytest.skip("Tansu has no transactions; exactly_once runs on Apache Kafka")
    harness = Harness(kafka_broker.bootstrap_servers, partitions=4, processing_guarantee=guarantee)
    harness.create_topics()
    t = harness.topics
    accounts = [f"due{i:02d}" for i in range(40)]
    now_us = time.time_ns() // 1000
    # 30-day deadlines falling due 4 to 12 s from now, over every partition
    crossings = [
        follower_change(
            account,
            1_200_000,
            format_utc(now_us - 30 * DAY_US + (4_000_000 + i * 200_000)),
            platform="douyin",
        )
        for i, account in enumerate(accounts)
    ]
    try:
        first = harness.start_worker()
        harness.start_worker(wait=False)
        harness.produce(crossings)
        harness.wait_for(t.verification_requests, len(accounts))
        third = harness.start_worker(wait=False)  # the deadlines fall due while partitions move
        wait_logged(third, JOINING, "the third worker starting to join")
        first.kill()
        restricted = harness.wait_for(t.account_restrictions, len(accounts), timeout=120)
        harness.wait_processed()

        records = harness.read(t.account_restrictions, committed_only=guarantee == "exactly_once")
        ids = [r.value["event_id"] for r in records]
        expected = {
            str(uuid.uuid5(uuid.NAMESPACE_URL, f"TrafficRestricted:douyin/{a}/1")) for a in accounts
        }
        assert set(ids) == expected, f"{len(restricted)} restrictions, {len(set(ids))} distinct"
        if guarantee == "exactly_once":
            assert len(ids) == len(expected), "read_committed saw a restriction twice"
    finally:
        harness.stop()
