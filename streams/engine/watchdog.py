"""Fail loudly when table recovery stops making progress, instead of hanging."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from streams.engine.access import refusal

__all__ = [
    "FAILURE_EXIT_CODE",
    "RESTART_EXIT_CODE",
    "RecoveryWatch",
    "fail_fast",
    "start_recovery_watchdog",
]

RESTART_EXIT_CODE = 75
"""A worker exits with this to be restarted in a fresh process (EX_TEMPFAIL)."""

FAILURE_EXIT_CODE = 70
"""A worker exits with this when an agent failed for a reason other than its
input (a bug, a broker that is gone): EX_SOFTWARE."""


def fail_fast(what: str, exc: BaseException) -> NoReturn:
    """Log one ERROR line naming `what` failed and why, then end the process.

    Faust's supervisor would restart a crashed agent in the same process, but
    the restarted agent no longer reads the partitions the dead one held: the
    worker stays up, healthy-looking, and processes nothing. A process that
    exits is restarted by `thresholds worker`'s parent or the orchestrator,
    and reads again from the committed offsets, losing nothing.
    """
    log = logging.getLogger("streams")
    refused = refusal(exc)
    if refused:
        log.error("%s failed: %s; stopping the worker (exit %d)", what, refused, FAILURE_EXIT_CODE)
    else:
        frame = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
        where = f" at {Path(frame[0].filename).name}:{frame[0].lineno}" if frame else ""
        log.error(
            "%s failed: %s: %s%s; stopping the worker (exit %d) to be restarted",
            what,
            type(exc).__name__,
            str(exc).splitlines()[0][:300] if str(exc) else "",
            where,
            FAILURE_EXIT_CODE,
        )
    logging.shutdown()
    sys.stderr.flush()
    os._exit(FAILURE_EXIT_CODE)


@contextlib.contextmanager
def stopping_if_refused(what: str) -> Iterator[None]:
    """Around a call to Kafka: a missing ACL ends the worker with one ERROR
    line naming it (`fail_fast`) instead of Faust's multi-line crash; any
    other error goes on up."""
    try:
        yield
    except Exception as exc:
        if refusal(exc):
            fail_fast(what, exc)
        raise


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
