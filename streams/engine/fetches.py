"""The whole-fetch hand-off: the records of one partition in one fetch go to
their agent as one item, not one Faust event each.

Faust hands each record to the conductor, which waits for flow control and
the producer buffer, builds an `Event`, and queues it for the agent's
stream; the agent then acks each event through `Stream.ack`, `Event.ack` and
`Message.ack` (about a fifth of the worker's time at 27,000 events/s). Here
the fetch loop (`transport.Consumer._drain_messages`) puts a partition's run
of records into the same queue as one `Fetch`, after the same waits, with the
same pressure signals per partition, and the agent acks each message with
`Consumer.ack`, the step the chain above ends in. What does not change:
Faust's offset bookkeeping (read offsets, gaps, acked offsets, commits), the
queue Faust clears at a rebalance, and the pending acks a revocation waits
for (`streams.engine.batches`).

The queue is bounded in records as Faust bounds it in events: a run of a
partition is handed off in items of at most `RUN_RECORDS` records, and an
agent's input topic is declared with `queue_items` items
(`stream_buffer_maxsize` records in all, 8,192), so a worker restarted onto a
backlog pauses its fetches there instead of reading the backlog into memory
one whole fetch (up to 4 MB a partition) per item.

An agent's input topic goes this way once its stream has called `register`;
records that arrive before, and every topic of no agent (changelogs, Faust's
own), go Faust's way. Each input topic has exactly one reader
(`streams.config.topology`), which the conductor would otherwise serve.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from faust.types import TP

__all__ = [
    "RUN_RECORDS",
    "Fetch",
    "ack_all",
    "deliverer",
    "messages_of",
    "queue_items",
    "queues",
    "register",
]

_ATTRIBUTE = "thresholds_whole_fetch_queues"

RUN_RECORDS = 1024
"""The most records of one queued item."""


def queue_items(app: Any) -> int:
    """How many items an agent's queue holds: Faust's `stream_buffer_maxsize`
    records at most, never fewer than 4 items (the pressure signal's margin)."""
    return max(4, int(app.conf.stream_buffer_maxsize) // RUN_RECORDS)


@dataclass(frozen=True, slots=True)
class Fetch:
    """One partition's records of one fetch, in offset order."""

    messages: list[Any]


def queues(app: Any) -> dict[str, Any]:
    """Input topic -> the queue of the stream that reads it (the app's own dict)."""
    found: dict[str, Any] | None = getattr(app, _ATTRIBUTE, None)
    if found is None:
        found = {}
        setattr(app, _ATTRIBUTE, found)
    return found


def register(stream: Any) -> None:
    """Send the stream's topics' records to its queue as whole fetches from now on."""
    channel = stream.channel
    queue = channel.queue
    for topic in getattr(channel, "topics", ()):  # a plain channel has none
        queues(stream.app)[topic] = queue


def messages_of(item: Any) -> list[Any]:
    """The messages of a queued item: a `Fetch`, or an event Faust queued."""
    if type(item) is Fetch:
        return item.messages
    return [item.message]


def deliverer(app: Any) -> Callable[[list[Any], Any], Awaitable[None]]:
    """`deliver(messages, queue)`: what the conductor does for one record
    (wait for flow control and for the producer buffer, queue with a pressure
    signal to the consumer), done once for a run of one partition's records.

    The signals name the partition by a Faust `TP`, as the conductor's do:
    the consumer's set of active partitions holds only that type, and the
    messages carry the aiokafka driver's `TopicPartition` (one put back in
    that set fails Faust's assertion and stops the fetch loop)."""
    acquire_flow_control = app.flow_control.acquire
    wait_until_producer_ebb = app.producer.buffer.wait_until_ebb
    on_topic_buffer_full = app.sensors.on_topic_buffer_full
    consumer = app.consumer
    signals: dict[Any, tuple[Callable[[], None], Callable[[], None]]] = {}

    def signals_for(tp: Any) -> tuple[Callable[[], None], Callable[[], None]]:
        # one pair per partition: the queue keeps pending drop callbacks in a set
        pair = signals.get(tp)
        if pair is None:

            def high() -> None:
                on_topic_buffer_full(tp)
                consumer.on_buffer_full(tp)

            def drop() -> None:
                consumer.on_buffer_drop(tp)

            pair = signals[tp] = (high, drop)
        return pair

    async def deliver(messages: list[Any], queue: Any) -> None:
        first = messages[0]
        tp = TP(first.topic, first.partition)
        await acquire_flow_control()
        await wait_until_producer_ebb()
        fetch = Fetch(messages)
        if queue.full():
            on_topic_buffer_full(tp)
            # in a task of its own, as the conductor puts: a rebalance clears
            # the queue and cancels its waiting putters, which must end this
            # put, not the fetch loop that awaits it
            put = asyncio.ensure_future(queue.put(fetch))
            try:
                await asyncio.wait((put,))
            finally:
                put.cancel()  # suspended meanwhile: the fetch is not delivered later
        else:
            high, drop = signals_for(tp)
            queue.put_nowait_enhanced(fetch, on_pressure_high=high, on_pressure_drop=drop)

    return deliver


def ack_all(app: Any) -> Callable[[Sequence[Any]], None]:
    """Ack handled messages with Faust's `Consumer.ack`: their offsets may be committed."""
    ack = app.consumer.ack

    def ack_messages(messages: Sequence[Any]) -> None:
        for message in messages:
            ack(message)

    return ack_messages
