"""A tiny like-for-like run on the session's broker, so its code never rots
(no figure is judged; its own check of every crossing against replay is)."""

from __future__ import annotations

import os

import pytest

from tests.support.processes import run_module

pytestmark = [pytest.mark.bench, pytest.mark.integration]


def test_the_like_for_like_rows_run_and_match_replay(kafka_bootstrap_servers: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "THRESHOLDS_TEST_BROKER"}
    env["KAFKA_BOOTSTRAP_SERVERS"] = kafka_bootstrap_servers
    quix = os.environ.get("THRESHOLDS_QUIX_PYTHON")

    result = run_module(
        "benchmarks.like_for_like",
        *("--events", "2000", "--warm-up", "2000", "--rounds", "1", "--no-kafka-streams"),
        *(["--quix", quix] if quix else []),
        env=env,
        timeout=900,
    )

    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    rows = [
        line.split("|")[1].strip() for line in result.stdout.splitlines() if line.startswith("| ")
    ]
    expected = ["ours_rocksdb", "ours_memory", "ours_rocksdb_no_policy"]
    assert rows[1:] == expected + (["quix_defaults", "quix_commit_0_5s"] if quix else [])
