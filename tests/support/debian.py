"""Debian's packages for the tests that need a real program (chromium, Prometheus)."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

__all__ = ["debian_program"]


def debian_program(program: str, package: str) -> str:
    """The path of `program`, installing Debian's `package` when it is missing
    (as root, with apt-get). Missing for good: a failure under CI, else a skip."""
    found = shutil.which(program)
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-q"], env=env, check=False, timeout=600)
        subprocess.run(
            ["apt-get", "install", "-y", "-q", package],
            env=env,
            check=True,
            timeout=1200,
        )
        found = shutil.which(program)
    if not found:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{program} is missing and could not be installed ({package})")
        pytest.skip(f"no {program} here, and it cannot be installed (not root, no apt-get)")
    return found
