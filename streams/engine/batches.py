"""Batches of input messages read off a Faust stream, for the agents."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

from streams.engine import fetches

__all__ = ["from_stream"]


async def from_stream(stream: Any, limit: int) -> AsyncIterator[list[Any]]:
    """The messages waiting in the stream's queue, whole fetches up to about
    `limit` of them, as soon as there is one; the caller acks them
    (`fetches.ack_all`) once they are handled.

    The stream's input topics come as whole fetches from the first call
    (`streams.engine.fetches`); events Faust queued before that are taken as
    their messages. Faust's `take_events` would move every event through the
    stream's iterator, a background drainer and a buffer processor, each
    awaiting per event (~40 µs an event, more than the crossing rule's whole
    batch work). This reads the queue Faust's iterator reads and waits for
    nothing but the first item: batches grow with the backlog and a lone
    record goes at once. Messages not acked (the caller raised, or the worker
    stopped mid-batch) are not committed, and are read again after a restart.

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
    backlog = fetches.register(stream)
    queue = backlog.queue
    taken = backlog.taken
    inbound = stream.app.monitor.stream_inbound_time
    # Faust's stream iterator inlines Consumer.track_message the same way
    pending_acks = stream.app.consumer._unacked_messages
    messages_of = fetches.messages_of
    while True:
        try:
            messages = list(messages_of(await queue.get()))
            while len(messages) < limit and not queue.empty():
                messages += messages_of(queue.get_nowait())
        except StopAsyncIteration:
            return  # Faust ends a stream by throwing this into its queue
        taken(len(messages))
        now = time.monotonic()
        for message in messages:
            inbound[message.tp] = now
            if not message.tracked:
                message.tracked = True
                pending_acks.add(message)
        yield messages
