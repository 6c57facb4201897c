"""Tens of thousands of hostile records against a live worker: all accounted for."""

from __future__ import annotations

from pathlib import Path

from streams.testing.harness import Harness, Worker
from streams.testing.logs import hostile_records
from tests.support.expectations import against_replay


def rss_mb(worker: Worker) -> float:
    status = Path(f"/proc/{worker.worker_pid}/status").read_text()
    kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
    return kb / 1024


def test_hostile_input_is_dead_lettered_good_input_processed_and_memory_bounded(
    thresholds_harness: Harness, tmp_path: Path
) -> None:
    lines = list(hostile_records(20_000, seed=31))
    log = tmp_path / "hostile.jsonl"
    log.write_bytes(b"".join(line.replace(b"\n", b" ") + b"\n" for line in lines))
    worker = thresholds_harness.start_worker()
    before = rss_mb(worker)

    thresholds_harness.produce(lines)
    thresholds_harness.wait_processed(timeout=180)

    t = thresholds_harness.topics
    report = against_replay(thresholds_harness, log, t.threshold_crossings, t.follower_changes_dlq)
    assert worker.alive
    assert report.ok, (report.missing[:2], report.extra[:2], report.dead_letters_actual)
    assert report.dead_letters_expected > 5_000
    assert rss_mb(worker) - before < 150
