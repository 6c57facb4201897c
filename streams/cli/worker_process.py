"""A worker as a child process, for the demo, the test kit and the benchmarks:
start `thresholds worker`, wait until it is ready."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

__all__ = ["spawn_worker", "wait_ready"]


def spawn_worker(
    env: dict[str, str], *, config: str | None = None, log: Path | None = None
) -> subprocess.Popen[bytes]:
    """Start `thresholds worker` in a child process (tests, demo, benchmarks)."""
    cmd = [sys.executable, "-m", "streams.cli", "worker", "--fast-start", "--quiet"]
    if config:
        cmd += ["--config", config]
    with open(log or os.devnull, "ab") as out:  # the child keeps its own copy
        return subprocess.Popen(  # noqa: S603 - our own command
            cmd,
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def wait_ready(log: Path, process: subprocess.Popen[bytes], timeout: float = 60.0) -> float:
    """Seconds until the worker logs `Worker ready`; RuntimeError if it dies first."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if log.exists() and b"Worker ready" in log.read_bytes():
            return time.monotonic() - start
        if process.poll() is not None:
            tail = log.read_text(errors="replace").strip().splitlines()[-5:] if log.exists() else []
            raise RuntimeError(f"worker exited with {process.returncode}: {' | '.join(tail)}")
        time.sleep(0.1)
    raise TimeoutError(f"worker not ready after {timeout:.0f}s")
