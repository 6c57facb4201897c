"""The agents' batch reader on a Faust stream (no broker: an in-memory channel)."""

from __future__ import annotations

import asyncio

import faust
from faust.types import TP, Message

from streams.engine import batches


def test_a_batch_stamps_its_partitions_for_fausts_stalled_stream_check() -> None:
    # Faust's consumer logs "Stream has not started processing" for any
    # partition its monitor has no inbound time for, once the worker has run
    # for stream_processing_timeout with records still to read
    async def first_batch() -> tuple[int, dict[TP, float]]:
        app = faust.App("batches-test", broker="memory://", web_enabled=False)
        stream = app.stream(app.channel())
        app.flow_control.resume()  # as a running worker's flow is
        for partition, offset in ((3, 7), (3, 8), (5, 2)):
            message = Message("changes", partition, offset, 0.0, 0, {}, b"k", b"v", None)
            event = app.conf.Event(app, b"k", b"v", {}, message)  # type: ignore[operator]  # Faust's setting is typed as a type
            await stream.channel.queue.put(event)  # type: ignore[attr-defined]  # a Channel, typed as its iterator
        batch = await anext(batches.from_stream(stream, 10))
        return len(batch), dict(app.monitor.stream_inbound_time)

    size, inbound = asyncio.run(first_batch())

    assert size == 3
    assert set(inbound) == {TP("changes", 3), TP("changes", 5)}
