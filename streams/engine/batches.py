"""Batches of events read off a Faust stream, for the agents."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

__all__ = ["from_stream"]


async def from_stream(stream: Any, limit: int) -> AsyncIterator[list[Any]]:
    """The events waiting in the stream's channel, at most `limit`, as soon as
    there is one; the caller acks them (`Stream.ack`) once they are handled.

    Faust's `take_events` moves every event through the stream's iterator, a
    background drainer and a buffer processor, each awaiting per event (~40 µs
    an event here, more than the crossing rule's whole batch work). This reads
    the same channel queue the iterator reads, through public API
    (`Channel.queue`, `Stream.ack`), and waits for nothing but the first
    event: batches grow with the backlog and a lone event goes at once.
    Events not acked (the caller raised, or the worker stopped mid-batch) are
    not committed, and are read again after a restart.

    Each batch stamps its partitions in Faust's monitor, as the iterator does
    per event: Faust's consumer logs "Stream has not started processing" for
    every partition without a stamp once the worker has run for
    `stream_processing_timeout` (5 minutes) while it has records to read.
    """
    await stream.maybe_start()
    queue = stream.channel.queue
    inbound = stream.app.monitor.stream_inbound_time
    while True:
        try:
            events = [await queue.get()]
            while len(events) < limit and not queue.empty():
                events.append(queue.get_nowait())
        except StopAsyncIteration:
            return  # Faust ends a stream by throwing this into its queue
        now = time.monotonic()
        for event in events:
            inbound[event.message.tp] = now
        yield events
