"""Faust's aiokafka transport with a configurable fetch wait (`shortpoll://` brokers).

Faust builds its worker consumer with `fetch_max_wait_ms=1500`. Kafka answers
a waiting fetch as soon as data arrives, so that costs nothing there; Tansu
holds the fetch for the whole wait, so a caught-up worker sees a new record
up to 1.5 s late. This transport is Faust's own, registered through Faust's
documented `faust.transports` entry point, with the wait taken from
`THRESHOLDS_FETCH_MAX_WAIT_MS` (20 ms by default).
"""

from __future__ import annotations

import os
from typing import Any

from faust.transport.drivers import aiokafka as faust_aiokafka

__all__ = ["Consumer", "Transport", "fetch_max_wait_ms"]


def fetch_max_wait_ms() -> int:
    """The configured fetch wait in milliseconds."""
    return int(os.environ.get("THRESHOLDS_FETCH_MAX_WAIT_MS", "20"))


class _ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        # aiokafka keeps the setting here until start() builds its fetcher;
        # fail loudly rather than silently ignore it on an aiokafka upgrade
        if not hasattr(consumer, "_fetch_max_wait_ms"):
            raise RuntimeError("aiokafka changed: cannot set the fetch wait")
        consumer._fetch_max_wait_ms = fetch_max_wait_ms()
        return consumer


class Consumer(faust_aiokafka.Consumer):
    """Faust's aiokafka consumer with a configurable fetch wait."""

    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)


class Transport(faust_aiokafka.Transport):
    """Faust's aiokafka transport with a configurable fetch wait."""

    Consumer = Consumer
