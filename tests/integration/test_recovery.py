"""State rebuilt from the changelog after a restart is complete."""

from __future__ import annotations

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
