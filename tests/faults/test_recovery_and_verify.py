"""Recovery from a large changelog under load, and the `thresholds verify` command."""

from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path

import orjson

from streams.testing.harness import Harness, thresholds
from tests.faults.test_crashes import write_log
from tests.support.expectations import against_replay, explain


def test_a_restart_with_a_large_changelog_while_input_keeps_arriving_loses_nothing(
    thresholds_harness: Harness, tmp_path: Path
) -> None:
    log, lines = write_log(tmp_path, 60_000, 20_000, seed=41)
    first = thresholds_harness.start_worker()
    thresholds_harness.produce(lines[:40_000])
    thresholds_harness.wait_processed(timeout=180)
    first.kill()

    feeder = threading.Thread(target=thresholds_harness.produce, args=(lines[40_000:],))
    feeder.start()
    thresholds_harness.start_worker(timeout=120)
    feeder.join()
    thresholds_harness.wait_processed(timeout=180)

    report = against_replay(thresholds_harness, log)
    assert report.ok, explain(report)


def test_a_worker_restarted_onto_a_backlog_resumes_it_without_a_gap(
    thresholds_harness: Harness, tmp_path: Path
) -> None:
    # Faust resumes input partitions before it seeks them to their committed
    # offsets (faust-streaming #596); backlog records fetched in between must
    # neither be lost nor trip the input guard, which restarts the worker.
    log, lines = write_log(tmp_path, 40_000, 8_000, seed=43)
    for start in range(0, 30_000, 10_000):
        thresholds_harness.produce(lines[start : start + 10_000])
        worker = thresholds_harness.start_worker(timeout=120)
        time.sleep(1)
        worker.terminate()
    thresholds_harness.produce(lines[30_000:])
    thresholds_harness.start_worker(timeout=120)
    thresholds_harness.wait_processed(timeout=120)

    changes = f"topic='{thresholds_harness.topics.follower_changes}'"
    for worker_log in thresholds_harness.worker_logs():
        for line in worker_log.splitlines():
            assert not ("were lost inside the worker" in line and changes in line), line
    assert against_replay(thresholds_harness, log).ok


def verify(harness: Harness, log: Path) -> subprocess.CompletedProcess[str]:
    return thresholds(harness, "verify", "--log", str(log), env={"COLUMNS": "200"}, timeout=120)


def test_verify_says_ok_for_a_complete_topic_and_names_an_invented_crossing(
    thresholds_harness: Harness, tmp_path: Path
) -> None:
    log, lines = write_log(tmp_path, 3_000, 300, seed=42)
    thresholds_harness.start_worker()
    thresholds_harness.produce(lines)
    thresholds_harness.wait_processed()

    ok = verify(thresholds_harness, log)
    forged = {
        **thresholds_harness.read(thresholds_harness.topics.threshold_crossings)[0].value,
        "event_id": "00000000-0000-5000-8000-000000000000",
    }
    thresholds_harness.send_raw(
        thresholds_harness.topics.threshold_crossings,
        [
            (
                b"%s:%s" % (forged["platform"].encode(), forged["account_id"].encode()),
                orjson.dumps(forged),
            )
        ],
    )
    bad = verify(thresholds_harness, log)

    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "OK" in ok.stdout
    assert bad.returncode == 1
    assert "extra (1)" in bad.stdout
    assert "00000000-0000-5000-8000-000000000000" in bad.stdout
