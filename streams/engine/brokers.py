"""No broker answering: said on `/ready`, then the worker stops, never hangs.

The worker asks the cluster for its metadata every few seconds through the
producer's client (any broker may answer). While none does, `/ready` says
so; once none has for `THRESHOLDS_BROKER_TIMEOUT`, the worker stops with one
ERROR line and exit status 70, to be restarted by its supervisor. A broker
that is down, killed or hung while another answers changes nothing here.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from streams.engine.watchdog import fail_fast

__all__ = ["PROBE_SECONDS", "BrokerWatch", "watch_brokers"]

PROBE_SECONDS = 5.0
"""How often the cluster is asked, and how long it has to answer."""

UNREADY_AFTER = 10.0
"""Seconds without an answer before `/ready` says so."""


@dataclass
class BrokerWatch:
    """Decides, from probe results, what `/ready` says and when to stop."""

    timeout: float
    silent_since: float | None = None

    def observe(self, now: float, answered: bool) -> str | None:
        """A one-line reason to stop once no broker has answered for `timeout` seconds."""
        if answered:
            self.silent_since = None
            return None
        if self.silent_since is None:
            self.silent_since = now
        if now - self.silent_since >= self.timeout:
            return (
                f"no Kafka broker has answered for {now - self.silent_since:.0f}s "
                f"(THRESHOLDS_BROKER_TIMEOUT={self.timeout:.0f})"
            )
        return None

    def unready(self, now: float) -> str | None:
        """What `/ready` says while no broker answers, or None."""
        if self.silent_since is None or now - self.silent_since < UNREADY_AFTER:
            return None
        return (
            f"no Kafka broker has answered for {now - self.silent_since:.0f}s; "
            f"stopping at {self.timeout:.0f}s"
        )


async def _answers(app: Any) -> bool:
    producer = app.producer._producer  # Faust's aiokafka producer (started by the worker)
    if producer is None:
        return True  # not started yet: nothing to say
    try:
        await asyncio.wait_for(producer.client.fetch_all_metadata(), PROBE_SECONDS)
    except Exception:  # any failure to get an answer is what is watched
        return False
    return True


async def watch_brokers(app: Any, watch: BrokerWatch) -> None:
    """Probe the cluster every PROBE_SECONDS for the worker's life."""
    while not app.should_stop:
        reason = watch.observe(time.monotonic(), await _answers(app))
        if reason:
            fail_fast("the worker", ConnectionError(reason))
        await asyncio.sleep(PROBE_SECONDS)
