"""The agents' batch reader on a Faust stream (no broker: an in-memory channel)."""

from __future__ import annotations

import asyncio

import faust
from faust.types import TP, Message
from faust.types.tuples import ConsumerMessage

from streams.engine import batches


def close_consumer(app: faust.App) -> None:
    """Close the event loop of the consumer thread Faust made but never started."""
    app.consumer._thread.thread_loop.close()  # type: ignore[attr-defined]  # the aiokafka driver's


def test_a_batch_stamps_its_partitions_for_fausts_stalled_stream_check() -> None:
    # Faust's consumer logs "Stream has not started processing" for any
    # partition its monitor has no inbound time for, once the worker has run
    # for stream_processing_timeout with records still to read
    async def first_batch() -> tuple[int, dict[TP, float]]:
        app = faust.App("batches-test", broker="kafka://127.0.0.1:9", web_enabled=False)
        stream = app.stream(app.channel())
        app.flow_control.resume()  # as a running worker's flow is
        for partition, offset in ((3, 7), (3, 8), (5, 2)):
            message = Message("changes", partition, offset, 0.0, 0, {}, b"k", b"v", None)
            event = app.conf.Event(app, b"k", b"v", {}, message)  # type: ignore[operator]  # Faust's setting is typed as a type
            await stream.channel.queue.put(event)  # type: ignore[attr-defined]  # a Channel, typed as its iterator
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
        app = faust.App("batches-wait", broker="kafka://127.0.0.1:9", web_enabled=False)
        stream = app.stream(app.channel())
        app.flow_control.resume()
        message = ConsumerMessage("changes", 0, 1, 0.0, 0, {}, b"k", b"v", None)
        event = app.conf.Event(app, b"k", b"v", {}, message)  # type: ignore[operator]  # Faust's setting is typed as a type
        await stream.channel.queue.put(event)  # type: ignore[attr-defined]  # a Channel, typed as its iterator
        batch = await anext(batches.from_stream(stream, 10))
        waiting = asyncio.ensure_future(app.consumer.wait_empty())
        await asyncio.sleep(0.1)
        waited = not waiting.done()

        for acked in batch:
            await stream.ack(acked)
        await asyncio.wait_for(waiting, 5)
        close_consumer(app)

        return waited, waiting.done()

    waited, finished = asyncio.run(scenario())

    assert waited
    assert finished
