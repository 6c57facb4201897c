"""kill -9 at random points, rebalances under load, SIGTERM: nothing lost, nothing invented."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from streams.config.topology import topology
from streams.kafka.embedded import embedded_broker, free_port
from streams.testing.harness import Broker, Harness
from streams.testing.logs import generate_events
from tests.support.expectations import ASSIGNED, against_replay, explain, wait_logged


def write_log(tmp_path: Path, n: int, accounts: int, seed: int) -> tuple[Path, list[bytes]]:
    lines = [orjson.dumps(v) for v in generate_events(n, accounts, seed=seed)]
    log = tmp_path / "log.jsonl"
    log.write_bytes(b"".join(line + b"\n" for line in lines))
    return log, lines


def test_kill_9_at_random_points_loses_and_invents_no_crossing(
    thresholds_harness: Harness, tmp_path: Path, fault_iterations: int
) -> None:
    log, lines = write_log(tmp_path, 30_000, 2_000, seed=21)
    rng = random.Random(21)
    thresholds_harness.produce(lines)

    for _ in range(fault_iterations):
        worker = thresholds_harness.start_worker()
        time.sleep(rng.uniform(0.2, 2.5))
        worker.kill()
    thresholds_harness.start_worker()
    thresholds_harness.wait_processed(timeout=180)

    report = against_replay(thresholds_harness, log)
    assert report.ok, explain(report)


def test_a_rebalance_under_load_loses_and_invents_no_crossing(
    kafka_bootstrap_servers: str, tmp_path: Path
) -> None:
    harness = Harness(kafka_bootstrap_servers, partitions=4)
    harness.create_topics()
    log, lines = write_log(tmp_path, 30_000, 2_000, seed=22)
    try:
        first = harness.start_worker()
        harness.produce(lines[:15_000])
        second = harness.start_worker(wait=False)  # joins while the first is busy
        harness.produce(lines[15_000:])
        wait_logged(second, ASSIGNED, "the second worker's assignment")
        first.kill()  # and dies, mid-log
        # Tansu reassigns a dead member's partitions at the next join, not when
        # its session expires (Kafka does both): a third worker joins.
        harness.start_worker()
        harness.wait_processed(timeout=180)

        report = against_replay(harness, log)
        assert report.ok, explain(report)
    finally:
        harness.stop()


def test_sigterm_commits_what_was_processed_and_exits_within_10_seconds(
    thresholds_harness: Harness, tmp_path: Path
) -> None:
    _, lines = write_log(tmp_path, 5_000, 500, seed=23)
    worker = thresholds_harness.start_worker()
    thresholds_harness.produce(lines)
    thresholds_harness.wait_processed()

    seconds = worker.terminate(timeout=30)

    assert seconds <= 10
    assert worker.process.returncode is not None
    thresholds_harness.wait_processed(timeout=1)  # everything stayed committed


def test_a_worker_whose_broker_is_gone_still_stops_within_its_stop_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Faust's stop waits for the outputs in flight, which an unreachable broker
    # never acknowledges; the supervisor kills the worker after the timeout
    monkeypatch.setenv("THRESHOLDS_STOP_TIMEOUT", "3")
    _, lines = write_log(tmp_path, 2_000, 200, seed=29)
    with embedded_broker() as broker:
        harness = Harness(broker.bootstrap_servers)
        harness.create_topics()
        worker = harness.start_worker()
        harness.produce(lines)
    wait_logged(worker, b'"logger": "aiokafka', "the worker noticing the broker is gone", 30)
    try:
        seconds = worker.terminate(timeout=30)

        assert seconds <= 3 + 5
        assert "did not stop within 3s" in worker.log.read_text(errors="replace")
    finally:
        harness.stop()


def test_exactly_once_under_kill_9_gives_each_record_exactly_once_to_read_committed(
    kafka_broker: Broker, tmp_path: Path, fault_iterations: int
) -> None:
    if kafka_broker.kind == "tansu":
        pytest.skip("Tansu has no transactions; exactly_once runs on Apache Kafka")
    harness = Harness(kafka_broker.bootstrap_servers, processing_guarantee="exactly_once")
    harness.create_topics()
    log, lines = write_log(tmp_path, 20_000, 1_500, seed=24)
    rng = random.Random(24)
    harness.produce(lines)
    try:
        for _ in range(fault_iterations):
            worker = harness.start_worker()
            time.sleep(rng.uniform(0.5, 3.0))
            worker.kill()
        harness.start_worker()
        harness.wait_processed(timeout=240)

        report = against_replay(harness, log, committed_only=True)
        assert report.ok, explain(report)
        assert report.duplicates == 0
        policy = harness.read(*topology(harness.settings).outputs(), committed_only=True)
        ids = [r.value["event_id"] for r in policy if "event_id" in r.value]
        assert len(ids) == len(set(ids)), "a read_committed consumer saw a record twice"
    finally:
        harness.stop()


def test_a_sigterm_while_the_worker_is_still_starting_is_a_clean_stop(
    thresholds_harness: Harness,
) -> None:
    # an orchestrator scales down right after scaling up: the stop reaches the
    # worker before its signal handlers exist; it has read nothing, exit 0
    env = {**os.environ, **thresholds_harness.env, "THRESHOLDS_WEB_PORT": str(free_port())}
    supervisor = subprocess.Popen([sys.executable, "-m", "streams.cli", "worker"], env=env)
    try:
        started = time.monotonic()
        while not _children(supervisor.pid):  # its handlers are set before the child starts
            assert supervisor.poll() is None
            assert time.monotonic() - started < 60
            time.sleep(0.01)
        supervisor.send_signal(signal.SIGTERM)  # the child is still importing

        assert supervisor.wait(timeout=30) == 0
    finally:
        supervisor.kill()


def _children(pid: int) -> list[str]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return path.read_text().split() if path.exists() else []
