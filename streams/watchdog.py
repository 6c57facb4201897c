"""Fail loudly when table recovery stops making progress, instead of hanging."""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["RESTART_EXIT_CODE", "RecoveryWatch", "start_recovery_watchdog"]

RESTART_EXIT_CODE = 75
"""A worker exits with this to be restarted in a fresh process (EX_TEMPFAIL)."""


@dataclass
class RecoveryWatch:
    """Decides, from samples of the records left to restore, when recovery is stuck."""

    timeout: float
    _best: int | None = None
    _since: float = 0.0

    def observe(self, now: float, recovering: bool, remaining: int) -> str | None:
        """A one-line reason to stop when nothing was restored for `timeout` seconds."""
        if not recovering:
            self._best = None
            return None
        if self._best is None or remaining < self._best:
            self._best, self._since = remaining, now
            return None
        if now - self._since >= self.timeout:
            return (
                f"table recovery made no progress for {now - self._since:.0f}s "
                f"({remaining} changelog records left): stopping so that a restart "
                "or an operator can act (THRESHOLDS_RECOVERY_TIMEOUT)"
            )
        return None


def start_recovery_watchdog(
    sample: Callable[[], tuple[bool, int]], timeout: float, interval: float = 5.0
) -> threading.Thread:
    """Watch `sample()` -> (recovering, remaining) in a daemon thread; exit 3 when stuck."""
    watch = RecoveryWatch(timeout)

    def run() -> None:
        while True:
            time.sleep(interval)
            try:
                recovering, remaining = sample()
            except Exception:  # noqa: S112 - the app may not be built yet
                continue
            reason = watch.observe(time.monotonic(), recovering, remaining)
            if reason:
                print(f"thresholds: error: {reason}", file=sys.stderr, flush=True)
                os._exit(3)

    thread = threading.Thread(target=run, name="recovery-watchdog", daemon=True)
    thread.start()
    return thread
