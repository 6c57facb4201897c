"""The producer subclass on a real broker: record batches in order, whatever their size."""

from __future__ import annotations

import asyncio

from streams.core.rules import Rules
from streams.engine import transport
from streams.engine.app import create_app
from streams.kafka import client as kafka_io
from streams.testing.harness import Harness


def test_send_records_delivers_a_record_larger_than_a_batch_in_its_place(
    thresholds_harness: Harness,
) -> None:
    settings = thresholds_harness.settings
    topic = thresholds_harness.topics.policy_ticks
    big = b"x" * 600_000  # the worker's producer batches hold 512 KiB
    records = [(b"a", b"1"), (b"big", big), (b"b", b"2"), (b"c", b"3")]

    async def send() -> None:
        producer = create_app(settings, Rules()).producer
        assert isinstance(producer, transport.Producer)
        await producer.start()
        try:
            await asyncio.gather(*await producer.send_records(topic, 0, records))
        finally:
            await producer.stop()

    asyncio.run(send())

    assert kafka_io.read_all_values(settings, [topic]) == [b"1", big, b"2", b"3"]
