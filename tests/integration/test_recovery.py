"""State rebuilt from the changelog after a restart is complete."""

from __future__ import annotations

import shutil

from streams.testing.harness import Harness
from streams.testing.logs import follower_change


def test_every_account_state_survives_a_restart_even_from_one_large_final_batch(
    thresholds_harness: Harness,
) -> None:
    accounts = [f"acct{i}" for i in range(500)]
    first = thresholds_harness.start_worker()
    thresholds_harness.produce(
        follower_change(a, 600_000, "2023-11-01T00:00:00Z") for a in accounts
    )
    thresholds_harness.wait_processed()
    first.kill()

    thresholds_harness.start_worker()
    thresholds_harness.produce(
        follower_change(a, 480_000, "2023-11-02T00:00:00Z") for a in accounts
    )
    thresholds_harness.wait_processed()

    crossings = thresholds_harness.read(thresholds_harness.topics.threshold_crossings)
    downs = {r.value["account_id"] for r in crossings if r.value["direction"] == "down"}
    assert downs == set(accounts)


def test_rocksdb_state_survives_a_restart(kafka_bootstrap_servers: str) -> None:
    harness = Harness(kafka_bootstrap_servers, store="rocksdb://")
    harness.create_topics()
    try:
        accounts = [f"acct{i}" for i in range(300)]
        first = harness.start_worker()
        harness.produce(follower_change(a, 600_000, "2023-11-01T00:00:00Z") for a in accounts)
        harness.wait_processed()
        first.terminate()

        second = harness.start_worker()
        harness.produce(follower_change(a, 480_000, "2023-11-02T00:00:00Z") for a in accounts)
        harness.wait_processed()

        crossings = harness.read(harness.topics.threshold_crossings)
        downs = {r.value["account_id"] for r in crossings if r.value["direction"] == "down"}
        assert downs == set(accounts)
        # the local store kept its changelog offsets: nothing was restored twice
        assert "Restoring state from changelog topics" not in second.log.read_text()
    finally:
        harness.stop()


def test_a_restart_restores_the_tables_by_reading_their_changelogs_in_bulk(
    thresholds_harness: Harness,
) -> None:
    first = thresholds_harness.start_worker()
    thresholds_harness.produce(
        follower_change(f"acct{i}", 600_000 + i, "2023-11-01T00:00:00Z") for i in range(2_000)
    )
    thresholds_harness.wait_processed()
    first.kill()

    second = thresholds_harness.start_worker()

    log = second.log.read_text()
    assert "all partitions at their highwater" in log
    # Faust's own record-by-record loop had nothing left to read
    assert "Restoring state from changelog topics" not in log


def test_a_rocksdb_worker_on_an_empty_disk_restores_its_state_from_the_changelog(
    kafka_bootstrap_servers: str,
) -> None:
    harness = Harness(kafka_bootstrap_servers, store="rocksdb://")
    harness.create_topics()
    try:
        accounts = [f"acct{i}" for i in range(300)]
        first = harness.start_worker()
        harness.produce(follower_change(a, 600_000, "2023-11-01T00:00:00Z") for a in accounts)
        harness.wait_processed()
        first.terminate()
        shutil.rmtree(harness.workdir / "data")  # a new host: no local store

        second = harness.start_worker()
        harness.produce(follower_change(a, 480_000, "2023-11-02T00:00:00Z") for a in accounts)
        harness.wait_processed()

        crossings = harness.read(harness.topics.threshold_crossings)
        downs = {r.value["account_id"] for r in crossings if r.value["direction"] == "down"}
        assert downs == set(accounts)
        assert "all partitions at their highwater" in second.log.read_text()
    finally:
        harness.stop()
