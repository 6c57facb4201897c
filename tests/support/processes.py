"""Run one of our Python modules as a child process, as a user would."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

__all__ = ["run_module"]


def run_module(
    module: str,
    *args: str,
    env: Mapping[str, str],
    cwd: Path | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess[str]:
    """`python -m MODULE ARGS...` with exactly `env`; never raises on its exit status."""
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        env=dict(env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
