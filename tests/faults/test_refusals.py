"""Start-up refusals: one clear line and a non-zero exit, never a hang or a traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from streams.testing.harness import Harness


def worker(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "streams.cli", "worker", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_bad_configuration_file_is_refused_in_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("thresholds = [1000000, 500000]\n")

    result = worker({}, "--config", str(bad))

    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "thresholds" in result.stderr


def test_an_unreachable_broker_is_refused_in_one_line() -> None:
    result = worker({"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9"})

    assert result.returncode == 2
    assert "cannot reach Kafka" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_topics_are_refused_in_one_line(kafka_bootstrap_servers: str) -> None:
    harness = Harness(kafka_bootstrap_servers)  # topics never created

    result = worker(harness.env)

    assert result.returncode == 2
    assert "missing topics" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_web_port_already_taken_is_refused_in_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        result = worker({"THRESHOLDS_WEB_HOST": "127.0.0.1", "THRESHOLDS_WEB_PORT": str(port)})

    assert result.returncode == 2
    assert f"cannot serve on 127.0.0.1:{port}" in result.stderr
    assert result.stderr.strip().count("\n") == 0


def test_a_web_url_with_a_path_is_refused_in_one_line() -> None:
    result = worker({"THRESHOLDS_WEB_URL": "http://worker-0:6066/some/path"})

    assert result.returncode == 2
    assert "THRESHOLDS_WEB_URL" in result.stderr
    assert result.stderr.strip().count("\n") == 0
