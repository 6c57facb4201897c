"""A tiny run of the benchmark suite, so its code never rots (no figures are judged)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.bench, pytest.mark.integration]


def test_the_benchmark_suite_runs_end_to_end_and_reports_every_figure(tmp_path: Path) -> None:
    output = tmp_path / "RESULTS.md"
    # `python3 run.py test` makes .venv-quix for the Quix Streams row, as `bench` does
    quix = os.environ.get("THRESHOLDS_QUIX_PYTHON")
    on_kafka = os.environ.get("THRESHOLDS_TEST_BROKER") == "apache-kafka"

    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks",
            "--tiny",
            "--output",
            str(output),
            *(["--quix", quix] if quix else []),
        ],
        capture_output=True,
        text=True,
        timeout=1500,
        check=False,
    )

    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    report = output.read_text()
    for figure in (
        "floor",
        "floor_confluent",
        "naive",
        "lookups_10_per_s",
        "ours",
        "latency_p99",
        "recovery",
        "restart_after_kill_9",
        "restart_after_sigterm",
        "bytes_per_account",
        "rocksdb",
        "two_workers_4p",
        "replay",
        "ours_same_log",
        "produce",
        "produce_bare",
        *(["quix", "quix_commit_0_5s"] if quix else []),
        *(["kafka_streams"] if on_kafka else []),
    ):
        assert f"│ {figure} " in report, figure
    # every side-by-side job emits exactly replay's crossings
    assert "same crossings as replay: yes" in report
    assert "same crossings as replay: NO" not in report
    if on_kafka:  # the embedded broker's section follows
        assert "## On the embedded broker (Tansu)" in report
