"""How long until a worker processes again: after kill -9 of the one before it,
and after a clean stop. On Apache Kafka both are within the group's session
timeout + 10 s (`--fast-start`: a 10 s session timeout and rebalance timeout)."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from streams.testing.harness import Broker, Harness, Worker
from streams.testing.logs import follower_change

SESSION_TIMEOUT = 10.0  # streams.engine.app, fast_start


def _seconds_to_processing(harness: Harness, stop: Callable[[Worker], object]) -> float:
    worker = harness.start_worker()
    harness.produce([follower_change("before", 600_000)])
    harness.wait_for(harness.topics.threshold_crossings, 1, timeout=60)

    started = time.monotonic()
    stop(worker)
    harness.start_worker(wait=False)
    harness.produce([follower_change("after", 600_000)])
    harness.wait_for(harness.topics.threshold_crossings, 2, timeout=120)
    return time.monotonic() - started


@pytest.mark.parametrize("how", ["kill -9", "SIGTERM"])
def test_a_replacement_worker_processes_again_within_the_session_timeout_plus_10_seconds(
    kafka_broker: Broker,
    thresholds_harness: Harness,
    how: str,
    recovery_figures: list[str],
) -> None:
    def stop(worker: Worker) -> None:
        if how == "kill -9":
            worker.kill()
        else:
            worker.terminate()

    seconds = _seconds_to_processing(thresholds_harness, stop)

    recovery_figures.append(f"{kafka_broker.kind}: {how} -> processing again in {seconds:.1f} s")
    if kafka_broker.kind == "apache-kafka":
        assert seconds <= SESSION_TIMEOUT + 10
