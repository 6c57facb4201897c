"""A tiny run of the targets benchmark on the session's broker, so its code
never rots (no figure is judged)."""

from __future__ import annotations

import os

import pytest

from tests.support.processes import run_module

pytestmark = [pytest.mark.bench, pytest.mark.integration]


def test_the_targets_run_and_report_every_row(kafka_bootstrap_servers: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "THRESHOLDS_TEST_BROKER"}
    env["KAFKA_BOOTSTRAP_SERVERS"] = kafka_bootstrap_servers

    result = run_module(
        "benchmarks.targets",
        *("--events", "4000", "--rounds", "1", "--waits", "100"),
        *("--latency-events", "8000", "--latency-rounds", "1", "--produce-events", "4000"),
        env=env,
        timeout=900,
    )

    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    rows = [line.split("|")[1].strip() for line in result.stdout.splitlines() if line[:2] == "| "]
    for row in ("two workers / one", "p50 / p99 produce -> crossing", "produce / bare"):
        assert any(r.startswith(row) for r in rows), (row, rows)
