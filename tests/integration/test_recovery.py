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


ROCKSDB_ACCOUNTS = {f"acct{i}" for i in range(300)}


def _rocksdb_restart(kafka_bootstrap_servers: str, *, new_disk: bool) -> tuple[str, set[str]]:
    """300 accounts cross 500K up, the worker stops cleanly (and its data
    directory goes, as on a new host), a new worker starts and they all go
    back under; return the new worker's log and the accounts that crossed down."""
    accounts = sorted(ROCKSDB_ACCOUNTS)
    harness = Harness(kafka_bootstrap_servers, store="rocksdb://")
    harness.create_topics()
    try:
        first = harness.start_worker()
        harness.produce(follower_change(a, 600_000, "2023-11-01T00:00:00Z") for a in accounts)
        harness.wait_processed()
        first.terminate()
        if new_disk:
            shutil.rmtree(harness.workdir / "data")

        second = harness.start_worker()
        harness.produce(follower_change(a, 480_000, "2023-11-02T00:00:00Z") for a in accounts)
        harness.wait_processed()

        crossings = harness.read(harness.topics.threshold_crossings)
        downs = {r.value["account_id"] for r in crossings if r.value["direction"] == "down"}
        return second.log.read_text(), downs
    finally:
        harness.stop()


def test_rocksdb_state_survives_a_restart(kafka_bootstrap_servers: str) -> None:
    log, downs = _rocksdb_restart(kafka_bootstrap_servers, new_disk=False)

    assert downs == ROCKSDB_ACCOUNTS
    # the local store kept its changelog offsets: nothing was read again
    assert "changelog partitions in bulk" not in log
    assert "Restoring state from changelog topics" not in log


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
    log, downs = _rocksdb_restart(kafka_bootstrap_servers, new_disk=True)

    assert downs == ROCKSDB_ACCOUNTS
    assert "all partitions at their highwater" in log
