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

The queue is bounded in records, as Faust bounds it in events (one record
each): a partition's run is handed off in items of at most `RUN_RECORDS`
records, and a `Backlog` counts the records an agent's queue holds. Past 80 %
of `stream_buffer_maxsize` (mode's pressure ratio) the fetch loop waits until
the agent has taken the queue down to 40 %, so a worker restarted onto a
backlog does not read it into memory. It waits rather than pausing the
partition as Faust's conductor does: Faust applies a resume at its next
fetch, and with no other partition to read that fetch waits its whole
timeout (1 s), which left a backlog's worker idle (a crossings-only worker
fell to half its rate). Counting queue items instead of records let a
backlog put a whole fetch (up to 4 MB a partition) in each item.

An agent's input topic goes this way once its stream has called `register`;
records that arrive before, and every topic of no agent (changelogs, Faust's
own), go Faust's way. Each input topic has exactly one reader
(`streams.config.topology`), which the conductor would otherwise serve.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from faust.types import TP

__all__ = [
    "RUN_RECORDS",
    "Backlog",
    "Fetch",
    "ack_all",
    "deliverer",
    "messages_of",
    "queues",
    "register",
]

_ATTRIBUTE = "thresholds_whole_fetch_queues"

RUN_RECORDS = 1024
"""The most records of one queued item."""


@dataclass(frozen=True, slots=True)
class Fetch:
    """One partition's records of one fetch, in offset order."""

    messages: list[Any]


class Backlog:
    """The records waiting in one agent's queue."""

    def __init__(self, app: Any, queue: Any) -> None:
        self.queue = queue
        size = int(app.conf.stream_buffer_maxsize)
        self.high: int = math.floor(size / queue.pressure_high_ratio)
        self.low: int = math.floor(size * queue.pressure_drop_ratio)
        self.records = 0
        self._taken = asyncio.Event()

    def added(self, records: int) -> None:
        """`records` were queued."""
        self.records += records

    def taken(self, records: int) -> None:
        """The agent took `records` off the queue."""
        self.records = max(0, self.records - records)
        self._recount_if_empty()
        if self.records <= self.low:
            self._taken.set()

    def full(self) -> bool:
        """Whether the queue is past its mark: hand off nothing more until it is taken down."""
        self._recount_if_empty()
        return self.records >= self.high

    async def wait_taken(self) -> None:
        """Return once the agent has taken the queue down to 40 %, or it is empty."""
        while self.records > self.low:
            if self._recount_if_empty():
                return
            self._taken.clear()
            # a clear at a rebalance sets nothing: look again every 50 ms
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._taken.wait(), 0.05)

    def _recount_if_empty(self) -> bool:
        # a rebalance clears the queue without the agent taking anything: an
        # empty queue holds nothing, whatever the count says (a stale count
        # would otherwise hold the fetch loop, or spin it, for good)
        if self.queue.empty():
            self.records = 0
            return True
        return False


def queues(app: Any) -> dict[str, Backlog]:
    """Input topic -> the backlog of the stream that reads it (the app's own dict)."""
    found: dict[str, Backlog] | None = getattr(app, _ATTRIBUTE, None)
    if found is None:
        found = {}
        setattr(app, _ATTRIBUTE, found)
    return found


def register(stream: Any) -> Backlog:
    """Send the stream's topics' records to its queue as whole fetches from now
    on; the backlog the stream reports what it takes to."""
    channel = stream.channel
    backlog = Backlog(stream.app, channel.queue)
    for topic in getattr(channel, "topics", ()):  # a plain channel has none
        queues(stream.app)[topic] = backlog
    return backlog


def messages_of(item: Any) -> list[Any]:
    """The messages of a queued item: a `Fetch`, or an event Faust queued."""
    if type(item) is Fetch:
        return item.messages
    return [item.message]


def deliverer(app: Any) -> Callable[[list[Any], Backlog], Awaitable[None]]:
    """`deliver(messages, backlog)`: what the conductor does for one record
    (wait for flow control and for the producer buffer, queue), done once for
    a run of one partition's records. The caller has waited for a full
    backlog (`Backlog.wait_taken`) and checked the generation since."""
    acquire_flow_control = app.flow_control.acquire
    wait_until_producer_ebb = app.producer.buffer.wait_until_ebb
    on_topic_buffer_full = app.sensors.on_topic_buffer_full

    async def deliver(messages: list[Any], backlog: Backlog) -> None:
        await acquire_flow_control()
        await wait_until_producer_ebb()
        fetch = Fetch(messages)
        queue = backlog.queue
        if queue.full():  # in items: the bound in records normally waits well before
            first = messages[0]
            on_topic_buffer_full(TP(first.topic, first.partition))  # Faust's sensors key by TP
            # in a task of its own, as the conductor puts: a rebalance clears
            # the queue and cancels its waiting putters, which must end this
            # put, not the fetch loop that awaits it
            put = asyncio.ensure_future(queue.put(fetch))
            try:
                await asyncio.wait((put,))
            finally:
                put.cancel()  # suspended meanwhile: the fetch is not delivered later
            if not put.cancelled():
                backlog.added(len(messages))
            return
        if queue.empty():
            backlog.taken(0)  # all taken (or cleared): count from nothing
        queue.force_put_nowait(fetch)
        backlog.added(len(messages))

    return deliver


def ack_all(app: Any) -> Callable[[Sequence[Any]], None]:
    """Ack handled messages with Faust's `Consumer.ack`: their offsets may be committed."""
    ack = app.consumer.ack

    def ack_messages(messages: Sequence[Any]) -> None:
        for message in messages:
            ack(message)

    return ack_messages
