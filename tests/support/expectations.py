"""What every fault test expects afterwards: each output topic holds exactly
the ids `thresholds replay` emits for the log (read_committed: each once
under exactly_once), and workers that say why they stopped."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import orjson

from streams.core.rules import Rules
from streams.kafka.verify import Report, compare, expected_from_log
from streams.testing.harness import Harness, Worker
from streams.testing.logs import generate_events
from tests.support.polling import poll


def log_from_now(
    tmp_path: Path, n: int, seed: int, accounts: int = 1_500
) -> tuple[Path, list[bytes]]:
    """A generated log whose times start now: no 30-day deadline falls due
    live or in replay, so the policy's records agree on wall clock and event time."""
    start_us = time.time_ns() // 1000
    lines = [orjson.dumps(v) for v in generate_events(n, accounts, seed=seed, start_us=start_us)]
    log = tmp_path / "log.jsonl"
    log.write_bytes(b"".join(line + b"\n" for line in lines))
    return log, lines


def assert_outputs_equal_replay(harness: Harness, log: Path, *, exactly_once: bool) -> None:
    """Every output topic's distinct ids equal replay's, duplicates identical;
    under exactly_once a read_committed reader sees each id once."""
    t = harness.topics
    expected = expected_from_log(log, Rules(), harness.settings)
    for topic in (t.threshold_crossings, t.verification_requests, t.account_restrictions):
        actual = [r.value for r in harness.read(topic, committed_only=exactly_once, timeout=60)]
        report = compare(expected.get(topic, []), actual)
        assert report.ok, (
            f"{topic}: missing={len(report.missing)} extra={len(report.extra)} "
            f"conflicting={len(report.conflicting)} {report.missing[:2]} {report.extra[:2]}"
        )
        if exactly_once:
            assert report.duplicates == 0, f"{topic}: read_committed saw {report.duplicates} twice"


def against_replay(
    harness: Harness, log: Path, *topics: str, committed_only: bool = False
) -> Report:
    """`compare` of what replay of `log` writes to `topics` (the crossings by
    default) with what they hold."""
    wanted = list(topics) or [harness.topics.threshold_crossings]
    expected = expected_from_log(log, Rules(), harness.settings)
    actual = harness.read(*wanted, committed_only=committed_only)
    return compare(
        [record for topic in wanted for record in expected.get(topic, [])],
        [r.value for r in actual],
    )


def explain(report: Report) -> str:
    """The first differences of a comparison, for a failure message."""
    return (
        f"missing={report.missing[:3]} extra={report.extra[:3]} "
        f"conflicting={report.conflicting[:3]} duplicates={report.duplicates}"
    )


def errors_of(worker: Worker) -> str:
    """The ERROR lines of a worker's log, for a failure message."""
    lines = worker.log.read_text(errors="replace").splitlines() if worker.log.exists() else []
    return " | ".join(line for line in lines if "ERROR" in line or "Error" in line)[-2000:]


def wait_processed(harness: Harness, timeout: float) -> None:
    """`harness.wait_processed`; on a timeout, each worker first logs the
    stack of every one of its tasks (mode's SIGUSR1), for the failure's report."""
    try:
        harness.wait_processed(timeout=timeout)
    except TimeoutError:
        for worker in harness.workers:
            if worker.alive:
                os.kill(worker.worker_pid, signal.SIGUSR1)
        time.sleep(2)
        raise


def assert_none_exited(workers: list[Worker]) -> None:
    """No worker has exited by itself."""
    exited = [w for w in workers if not w.alive]
    assert not exited, f"a worker exited: {errors_of(exited[0])}"


def stop_each_cleanly(workers: list[Worker]) -> None:
    """SIGTERM each worker; each exits 0."""
    for worker in workers:
        worker.terminate(timeout=60)
        assert worker.process.returncode == 0, errors_of(worker)


def wait_logged(worker: Worker, text: bytes, what: str, timeout: float = 120.0) -> None:
    """Until `worker`'s log holds `text` (for a fault timed to a moment of its work)."""
    poll(
        lambda: worker.log.exists() and text in worker.log.read_bytes(),
        timeout=timeout,
        what=what,
    )


ASSIGNED = b"Setting newly assigned partitions"
"""aiokafka's line when a worker is given its partitions (it has joined)."""
JOINING = b"(Re-)joining group"
"""aiokafka's line when a worker starts to join (a rebalance begins)."""
