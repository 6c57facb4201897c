"""The README's first command: the demo runs to its end and agrees with replay."""

from __future__ import annotations

import os

from tests.support.processes import run_module


def test_the_demo_shows_live_output_equal_to_replay_of_its_log() -> None:
    env = {k: v for k, v in os.environ.items() if k != "KAFKA_BOOTSTRAP_SERVERS"}

    result = run_module("streams.cli", "demo", env={**env, "COLUMNS": "200"})

    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "live output equals `thresholds replay` of the same log" in result.stdout
