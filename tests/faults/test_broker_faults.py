"""The cluster's failures, not only our own (SPEC.md, "Guarantees under
faults"): two workers on four partitions of a three-node Apache Kafka (RF 3,
min ISR 2) ride through a rolling restart, a killed partition leader, a
killed controller, a hung broker and their connections to one broker cut,
while the log is produced, in both guarantees. Afterwards every output topic
holds exactly replay's ids (read_committed: each once under exactly_once)
and no worker has exited."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from streams.kafka.apache.cluster import ApacheKafkaCluster
from streams.kafka.embedded import embedded_broker
from streams.testing.harness import Harness, thresholds
from tests.faults.relay import relays
from tests.support.expectations import (
    assert_none_exited,
    assert_outputs_equal_replay,
    log_from_now,
    stop_each_cleanly,
    wait_processed,
)
from tests.support.operations import get
from tests.support.polling import poll

OUTAGE_SECONDS = 15.0
"""How long a killed broker stays down, and a hung one stopped."""


def rolling_restart(cluster: ApacheKafkaCluster, harness: Harness) -> None:
    """Each broker in turn: a clean stop, a start, all replicas in sync again."""
    for node in cluster.nodes:
        node.stop()
        cluster.restart(node)
        cluster.wait_in_sync()


def kill_input_leader(cluster: ApacheKafkaCluster, harness: Harness) -> None:
    """kill -9 of the leader of an input partition; started again later."""
    node = cluster.leader_of(harness.topics.follower_changes, 0)
    node.kill()
    time.sleep(OUTAGE_SECONDS)
    cluster.restart(node)


def kill_controller(cluster: ApacheKafkaCluster, harness: Harness) -> None:
    """kill -9 of the quorum's active controller; started again later."""
    node = cluster.active_controller()
    node.kill()
    time.sleep(OUTAGE_SECONDS)
    cluster.restart(node)


def hang_output_leader(cluster: ApacheKafkaCluster, harness: Harness) -> None:
    """SIGSTOP of the leader of an output partition (alive, answering nothing); SIGCONT later."""
    node = cluster.leader_of(harness.topics.threshold_crossings, 0)
    node.pause()
    time.sleep(2 * OUTAGE_SECONDS)
    node.resume()


FAULTS: dict[str, Callable[[ApacheKafkaCluster, Harness], None]] = {
    "rolling_restart": rolling_restart,
    "kill_input_leader": kill_input_leader,
    "kill_controller": kill_controller,
    "hang_output_leader": hang_output_leader,
}


def _replicated(cluster: ApacheKafkaCluster, guarantee: str) -> Harness:
    """Four partitions, three replicas each, topics created."""
    harness = Harness(
        cluster.bootstrap_servers, partitions=4, replication=3, processing_guarantee=guarantee
    )
    harness.create_topics()
    return harness


def _in_chunks(tmp_path: Path, seed: int) -> tuple[Path, list[list[bytes]]]:
    """A log of 20,000 events from now, in ten chunks."""
    log, lines = log_from_now(tmp_path, 20_000, seed=seed)
    return log, [lines[i * 2_000 : (i + 1) * 2_000] for i in range(10)]


@pytest.mark.parametrize("guarantee", ["at_least_once", "exactly_once"])
@pytest.mark.parametrize("fault", list(FAULTS))
def test_workers_ride_through_a_broker_fault_losing_and_repeating_nothing(
    kafka_cluster: ApacheKafkaCluster,
    tmp_path: Path,
    fault: str,
    guarantee: str,
    recovery_figures: list[str],
) -> None:
    harness = _replicated(kafka_cluster, guarantee)
    log, chunks = _in_chunks(tmp_path, seed=40 + list(FAULTS).index(fault))
    try:
        workers = [harness.start_worker(), harness.start_worker()]
        harness.produce(chunks[0])
        produced = _SlowProducer(harness, chunks[1:])

        started = time.monotonic()
        produced.start()
        FAULTS[fault](kafka_cluster, harness)
        healed = time.monotonic()
        produced.done()
        wait_processed(harness, 300)
        settled = time.monotonic()

        assert_none_exited(workers)
        assert_outputs_equal_replay(harness, log, exactly_once=guarantee == "exactly_once")
        recovery_figures.append(
            f"{fault} ({guarantee}): fault {healed - started:.1f} s, "
            f"lag 0 {settled - healed:.1f} s after it ended"
        )
        stop_each_cleanly(workers)
    finally:
        harness.stop()


class _SlowProducer(threading.Thread):
    """The log arriving while the fault happens, a chunk each second; `done()`
    raises what stopped it, so a test never checks a log it only half sent."""

    def __init__(self, harness: Harness, chunks: list[list[bytes]]) -> None:
        super().__init__(daemon=True)
        self.harness, self.chunks = harness, chunks
        self.failure: BaseException | None = None

    def run(self) -> None:
        try:
            for chunk in self.chunks:
                self.harness.produce(chunk)
                time.sleep(1.0)
        except BaseException as exc:  # re-raised by done()
            self.failure = exc

    def done(self, timeout: float = 300) -> None:
        self.join(timeout)
        if self.is_alive():
            raise TimeoutError(f"the log was not produced within {timeout:.0f}s")
        if self.failure is not None:
            raise self.failure


@pytest.mark.parametrize("outage", ["killed", "hung"])
def test_every_command_works_while_one_broker_is_down_or_hung(
    kafka_cluster: ApacheKafkaCluster, tmp_path: Path, outage: str
) -> None:
    harness = Harness(kafka_cluster.bootstrap_servers, partitions=4, replication=3)
    harness.create_topics()  # RF 3 cannot be placed on two live brokers
    log, _ = log_from_now(tmp_path, 2_000, seed=50)
    node = kafka_cluster.nodes[0]  # first in the bootstrap list
    if outage == "killed":
        node.kill()
    else:
        node.pause()
    try:
        results = {
            "topics": thresholds(harness, "topics", timeout=120),
            "produce": thresholds(harness, "produce", str(log), timeout=120),
            "tail": thresholds(harness, "tail", harness.topics.follower_changes, "--count", "1"),
            "verify": thresholds(harness, "verify", "--log", str(log), timeout=120),
        }
    finally:
        node.resume()
        if outage == "killed":
            kafka_cluster.restart(node)
        kafka_cluster.wait_in_sync()

    failed = {
        name: r.stderr[-500:] for name, r in results.items() if name != "verify" and r.returncode
    }
    assert not failed
    # no worker ran: verify reports every crossing missing, and says so in one run
    assert results["verify"].returncode == 1, results["verify"].stderr[-500:]
    assert "Traceback" not in "".join(r.stderr for r in results.values())


def test_with_every_broker_gone_a_worker_says_so_then_stops_with_one_error_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("THRESHOLDS_BROKER_TIMEOUT", "20")
    _, lines = log_from_now(tmp_path, 500, seed=51)
    with embedded_broker() as broker:
        harness = Harness(broker.bootstrap_servers)
        harness.create_topics()
        worker = harness.start_worker()
        harness.produce(lines)
        harness.wait_processed()
    gone = time.monotonic()
    try:
        said = poll(lambda: _unreachable_detail(worker.url), timeout=40, what="/ready")
        worker.process.wait(timeout=60)
        stopped = time.monotonic() - gone

        assert "no Kafka broker has answered" in said
        assert worker.process.returncode not in (0, None)
        assert stopped <= 20 + 15
        errors = [
            line
            for line in worker.log.read_text(errors="replace").splitlines()
            if '"ERROR"' in line
        ]
        assert len(errors) == 1, errors[:5]
        assert "THRESHOLDS_BROKER_TIMEOUT" in errors[0]
    finally:
        harness.stop()


def _unreachable_detail(url: str) -> str | None:
    status, body = get(f"{url}/ready", timeout=5)
    detail = str(body.get("detail", "")) if isinstance(body, dict) else ""
    return detail if status == 503 and "broker" in detail else None


@pytest.mark.parametrize("guarantee", ["at_least_once", "exactly_once"])
def test_workers_cut_from_one_broker_for_30_seconds_lose_and_repeat_nothing(
    kafka_cluster: ApacheKafkaCluster,
    tmp_path: Path,
    guarantee: str,
    recovery_figures: list[str],
) -> None:
    harness = _replicated(kafka_cluster, guarantee)
    log, chunks = _in_chunks(tmp_path, seed=52)
    pairs = [(n.relay_port, n.proxied_port) for n in kafka_cluster.nodes]
    with relays(pairs) as relayed:
        try:
            via = kafka_cluster.relayed_servers
            workers = [harness.start_worker(bootstrap_servers=via) for _ in range(2)]
            harness.produce(chunks[0])
            produced = _SlowProducer(harness, chunks[1:])
            produced.start()
            cut = relayed[0]  # the workers lose node 1; the producer does not

            cut.partition()
            time.sleep(2 * OUTAGE_SECONDS)
            cut.heal()
            healed = time.monotonic()
            produced.done()
            wait_processed(harness, 300)

            assert_none_exited(workers)
            assert_outputs_equal_replay(harness, log, exactly_once=guarantee == "exactly_once")
            recovery_figures.append(
                f"cut from one broker 30 s ({guarantee}): lag 0 "
                f"{time.monotonic() - healed:.1f} s after the heal"
            )
            stop_each_cleanly(workers)
        finally:
            harness.stop()
