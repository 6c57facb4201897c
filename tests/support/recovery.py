"""How long until a worker processes again after the one before it stopped."""

from __future__ import annotations

import time
from collections.abc import Callable

from streams.cli.sandbox import Harness, Worker
from streams.testing.logs import follower_change

__all__ = ["seconds_to_processing"]


def seconds_to_processing(harness: Harness, stop: Callable[[Worker], object]) -> float:
    """Start a worker, see it cross, `stop` it, start a replacement, and time
    from the stop to the replacement's first crossing of a new event."""
    worker = harness.start_worker()
    harness.produce([follower_change("before", 600_000)])
    seen = len(harness.wait_for(harness.topics.threshold_crossings, 1, timeout=60))

    started = time.monotonic()
    stop(worker)
    harness.start_worker(wait=False)
    harness.produce([follower_change("after", 600_000)])
    harness.wait_for(harness.topics.threshold_crossings, seen + 1, timeout=120)
    return time.monotonic() - started
