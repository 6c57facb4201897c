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

    Each batch stamps its partitions in Faust's monitor and registers its
    messages as pending acks in Faust's consumer, as the iterator does per
    event. Without the stamp Faust's consumer logs "Stream has not started
    processing" for every partition once the worker has run for
    `stream_processing_timeout` (5 minutes) while it has records to read.
    Without the registration a rebalance (`Consumer.wait_empty`) would not
    wait for the batches in flight, and a revoked partition's state could
    reach its changelog after its new owner had read it.
    """
    await stream.maybe_start()
    queue = stream.channel.queue
    inbound = stream.app.monitor.stream_inbound_time
    # Faust's stream iterator inlines Consumer.track_message the same way
    pending_acks = stream.app.consumer._unacked_messages
    while True:
        try:
            events = [await queue.get()]
            while len(events) < limit and not queue.empty():
                events.append(queue.get_nowait())
        except StopAsyncIteration:
            return  # Faust ends a stream by throwing this into its queue
        now = time.monotonic()
        for event in events:
            message = event.message
            inbound[message.tp] = now
            if not message.tracked:
                message.tracked = True
                pending_acks.add(message)
        yield events
