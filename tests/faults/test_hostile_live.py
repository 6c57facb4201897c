"""Tens of thousands of hostile records against a live worker: all accounted for."""

from __future__ import annotations

from pathlib import Path

from streams.core.rules import Rules
from streams.kafka.verify import compare, expected_from_log
from streams.testing.harness import Harness, Worker
from streams.testing.logs import hostile_records


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
    expected = expected_from_log(log, Rules(), thresholds_harness.settings)
    actual = thresholds_harness.read(t.threshold_crossings, t.follower_changes_dlq)
    report = compare(
        expected[t.threshold_crossings] + expected[t.follower_changes_dlq],
        [r.value for r in actual],
    )
    assert worker.alive
    assert report.ok, (report.missing[:2], report.extra[:2], report.dead_letters_actual)
    assert report.dead_letters_expected > 5_000
    assert all(r.value["reason"] for r in actual if r.value["type"] == "DeadLetter")
    assert rss_mb(worker) - before < 150
