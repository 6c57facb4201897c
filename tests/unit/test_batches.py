"""The agents' batch reader on a Faust stream (no broker: an in-memory channel)."""

from __future__ import annotations

import asyncio
from typing import Any

import faust
from aiokafka import TopicPartition
from faust.types import TP, Message
from faust.types.tuples import ConsumerMessage

from streams.engine import batches, fetches
from streams.engine.transport import _by_partition


def close_consumer(app: faust.App) -> None:
    """Close the event loop of the consumer thread Faust made but never started."""
    app.consumer._thread.thread_loop.close()  # type: ignore[attr-defined]  # the aiokafka driver's


def running_stream(name: str) -> tuple[faust.App, Any]:
    """An app and a stream on an in-memory channel, its flow resumed as a running worker's is."""
    app = faust.App(name, broker="kafka://127.0.0.1:9", web_enabled=False)
    stream = app.stream(app.channel())
    app.flow_control.resume()
    return app, stream


async def queue_event(app: faust.App, stream: Any, message: Message) -> None:
    """Queue `message` as Faust's conductor does: as an event."""
    event = app.conf.Event(app, b"k", b"v", {}, message)  # type: ignore[operator]  # Faust's setting is typed as a type
    await stream.channel.queue.put(event)


def test_a_batch_stamps_its_partitions_for_fausts_stalled_stream_check() -> None:
    # Faust's consumer logs "Stream has not started processing" for any
    # partition its monitor has no inbound time for, once the worker has run
    # for stream_processing_timeout with records still to read
    async def first_batch() -> tuple[int, dict[TP, float]]:
        app, stream = running_stream("batches-test")
        for partition, offset in ((3, 7), (3, 8), (5, 2)):
            message = Message("changes", partition, offset, 0.0, 0, {}, b"k", b"v", None)
            await queue_event(app, stream, message)
        batch = await anext(batches.from_stream(stream, 10))
        close_consumer(app)
        return len(batch), dict(app.monitor.stream_inbound_time)

    size, inbound = asyncio.run(first_batch())

    assert size == 3
    assert set(inbound) == {TP("changes", 3), TP("changes", 5)}


def test_a_rebalance_waits_for_a_batch_until_its_events_are_acked() -> None:
    # Faust's stream iterator registers each message as pending, and a
    # rebalance (Consumer.wait_empty) waits until none is; the batch reader
    # bypasses the iterator, so it registers its messages itself
    async def scenario() -> tuple[bool, bool]:
        app, stream = running_stream("batches-wait")
        message = ConsumerMessage("changes", 0, 1, 0.0, 0, {}, b"k", b"v", None)
        await queue_event(app, stream, message)
        batch = await anext(batches.from_stream(stream, 10))
        waiting = asyncio.ensure_future(app.consumer.wait_empty())
        await asyncio.sleep(0.1)
        waited = not waiting.done()

        fetches.ack_all(app)(batch)
        await asyncio.wait_for(waiting, 5)
        close_consumer(app)

        return waited, waiting.done()

    waited, finished = asyncio.run(scenario())

    assert waited
    assert finished


def test_whole_fetches_and_events_queued_before_them_come_as_one_batch_of_messages() -> None:
    async def first_batch() -> list[tuple[int, int]]:
        app, stream = running_stream("batches-fetch")
        await queue_event(app, stream, Message("changes", 0, 1, 0.0, 0, {}, b"k", b"v", None))
        deliver = fetches.deliverer(app)
        for partition, offsets in ((0, (2, 3, 5)), (1, (0, 1))):
            run = [Message("changes", partition, o, 0.0, 0, {}, b"k", b"v", None) for o in offsets]
            await deliver(run, fetches.Backlog(app, stream.channel.queue))
        batch = await anext(batches.from_stream(stream, 100))
        close_consumer(app)
        return [(m.partition, m.offset) for m in batch]

    assert asyncio.run(first_batch()) == [(0, 1), (0, 2), (0, 3), (0, 5), (1, 0), (1, 1)]


def test_a_fetch_is_handed_off_each_partition_together_in_offset_order() -> None:
    a, b = TP("changes", 0), TP("changes", 1)
    taken_in_turns = [(a, 1), (b, 7), (a, 2), (b, 8), (a, 3)]

    assert _by_partition(taken_in_turns) == [(a, 1), (a, 2), (a, 3), (b, 7), (b, 8)]


def test_a_rebalance_clearing_a_full_queue_ends_a_waiting_hand_off_without_an_error() -> None:
    # Faust clears the queues at a rebalance, cancelling the putters waiting on
    # them: that must end the put, not raise into the fetch loop (which died)
    async def scenario() -> int:
        app = faust.App("batches-clear", broker="kafka://127.0.0.1:9", web_enabled=False)
        stream: Any = app.stream(app.channel(maxsize=8))
        app.flow_control.resume()
        backlog = fetches.Backlog(app, stream.channel.queue)
        deliver = fetches.deliverer(app)
        run = [Message("changes", 0, 0, 0.0, 0, {}, b"k", b"v", None)]
        while not backlog.queue.full():
            await deliver(run, backlog)
        waiting = asyncio.ensure_future(deliver(run, backlog))
        await asyncio.sleep(0.05)
        backlog.queue.clear()  # as FlowControlQueue.clear does at a rebalance
        await asyncio.wait_for(waiting, 5)  # raises here if the put's cancellation escapes
        close_consumer(app)
        return backlog.queue.qsize()

    assert asyncio.run(scenario()) == 0


def fetch_of(offsets: range) -> list[Message]:
    """One partition's run as the aiokafka driver makes it: its own TopicPartition type."""
    tp = TopicPartition("changes", 0)
    return [Message("changes", 0, o, 0.0, 0, {}, b"k", b"v", None, tp=tp) for o in offsets]


def test_a_queue_past_80_percent_of_the_buffer_in_records_holds_the_fetch_loop_until_40() -> None:
    # the bound on what a worker holds (Faust's, in records): a backlog's
    # fetches are not read into memory past it
    async def scenario() -> tuple[bool, list[bool]]:
        app = faust.App("batches-pressure", broker="kafka://127.0.0.1:9", web_enabled=False)
        stream: Any = app.stream(app.topic("changes"))  # stream_buffer_maxsize: 4,096 records
        app.flow_control.resume()
        reader = batches.from_stream(stream, 1000)
        first = asyncio.ensure_future(anext(reader))
        await asyncio.sleep(0.01)  # the reader has registered the topic's backlog
        backlog, deliver = fetches.queues(app)["changes"], fetches.deliverer(app)
        for start in range(0, 4096, 1024):
            await deliver(fetch_of(range(start, start + 1024)), backlog)
        full = backlog.full()
        waiting = asyncio.ensure_future(backlog.wait_taken())
        still_waiting = []
        for batch in range(3):
            await (first if batch == 0 else anext(reader))
            await asyncio.sleep(0.01)
            still_waiting.append(not waiting.done())
        close_consumer(app)
        return full, still_waiting

    full, still_waiting = asyncio.run(scenario())

    assert full
    # 3,072 and 2,048 records left stay above 40 %; at 1,024 the fetch loop goes on
    assert still_waiting == [True, True, False]


def test_small_fetches_far_below_the_buffer_hold_nothing() -> None:
    # counted in items, a few one-record fetches filled an 8-item queue
    async def scenario() -> bool:
        app, stream = running_stream("batches-small")
        backlog, deliver = fetches.Backlog(app, stream.channel.queue), fetches.deliverer(app)
        for offset in range(100):
            await deliver(fetch_of(range(offset, offset + 1)), backlog)
        full = backlog.full()
        close_consumer(app)
        return full

    assert not asyncio.run(scenario())


def test_a_rebalance_clearing_the_queue_ends_the_wait_for_it() -> None:
    # Faust clears the queues at a rebalance: nothing is left to take down
    async def scenario() -> bool:
        app, stream = running_stream("batches-wait-clear")
        backlog, deliver = fetches.Backlog(app, stream.channel.queue), fetches.deliverer(app)
        for start in range(0, 4096, 1024):
            await deliver(fetch_of(range(start, start + 1024)), backlog)
        waiting = asyncio.ensure_future(backlog.wait_taken())
        await asyncio.sleep(0.01)
        backlog.queue.clear()
        await asyncio.sleep(0.2)  # the wait looks again every 50 ms
        ended = waiting.done()
        waiting.cancel()
        close_consumer(app)
        return ended

    assert asyncio.run(scenario())


def test_a_queue_cleared_by_a_rebalance_is_not_full_whatever_was_counted() -> None:
    # the fetch loop asks `full` before each hand-off: a stale count after a
    # clear would hold it for good
    async def scenario() -> tuple[bool, bool]:
        app, stream = running_stream("batches-clear-count")
        backlog, deliver = fetches.Backlog(app, stream.channel.queue), fetches.deliverer(app)
        for start in range(0, 4096, 1024):
            await deliver(fetch_of(range(start, start + 1024)), backlog)
        before = backlog.full()
        backlog.queue.clear()
        after = backlog.full()
        close_consumer(app)
        return before, after

    assert asyncio.run(scenario()) == (True, False)
