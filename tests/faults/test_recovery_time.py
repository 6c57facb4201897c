"""How long until a worker processes again: after kill -9 of the one before it,
and after a clean stop. On Apache Kafka both are within the group's session
timeout + 10 s (`--fast-start`: a 10 s session timeout and rebalance timeout)."""

from __future__ import annotations

import pytest

from streams.testing.harness import Broker, Harness, Worker
from tests.support.recovery import seconds_to_processing

SESSION_TIMEOUT = 10.0  # streams.engine.app, fast_start


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

    seconds = seconds_to_processing(thresholds_harness, stop)

    recovery_figures.append(f"{kafka_broker.kind}: {how} -> processing again in {seconds:.1f} s")
    if kafka_broker.kind == "apache-kafka":
        assert seconds <= SESSION_TIMEOUT + 10
