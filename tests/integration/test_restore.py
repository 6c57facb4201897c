"""The bulk changelog read of `streams.engine.restore` on a real broker."""

from __future__ import annotations

import asyncio
from typing import Any

import aiokafka
import pytest
from aiokafka import TopicPartition

from streams.engine.restore import read_to_highwaters
from streams.testing.harness import Harness


class RecordingTable:
    """A table that keeps the (offset, key, value) of every change applied to it."""

    def __init__(self) -> None:
        self.applied: list[tuple[int, bytes, bytes]] = []

    def apply_changelog_batch(self, batch: list[Any]) -> None:
        self.applied += [(c.message.offset, c.key, c.value) for c in batch]


class Read:
    """One bulk read of partition 0 of a topic holding `records` records."""

    def __init__(self, harness: Harness, records: int, start: int, highwater: int) -> None:
        self.bootstrap = harness.settings.bootstrap_servers
        self.tp = TopicPartition(harness.topics.policy_ticks, 0)
        self.records = records
        self.table = RecordingTable()
        self.todo = {self.tp: highwater}
        self.offsets = {self.tp: start}

    async def run(self, timeout: float) -> None:
        producer = aiokafka.AIOKafkaProducer(bootstrap_servers=self.bootstrap)
        await producer.start()
        try:
            for i in range(self.records):
                await producer.send(self.tp.topic, value=b"%d" % i, key=b"k%d" % i, partition=0)
            await producer.flush()
        finally:
            await producer.stop()
        reader = aiokafka.AIOKafkaConsumer(bootstrap_servers=self.bootstrap)
        await reader.start()
        try:
            reader.assign([self.tp])
            reader.seek(self.tp, self.offsets[self.tp] + 1)
            # Faust's recovery step cancels its coroutine the same way when it times out
            await asyncio.wait_for(
                read_to_highwaters(reader, self.todo, self.offsets, {self.tp: self.table}),
                timeout,
            )
        finally:
            await reader.stop()

    @property
    def applied_offsets(self) -> list[int]:
        return [offset for offset, _, _ in self.table.applied]


def test_each_partition_is_applied_from_its_start_offset_up_to_its_highwater_and_no_further(
    thresholds_harness: Harness,
) -> None:
    read = Read(thresholds_harness, records=10, start=2, highwater=6)

    asyncio.run(read.run(timeout=30))

    assert read.applied_offsets == [3, 4, 5, 6]
    assert read.table.applied[0][1:] == (b"k3", b"3")
    assert read.todo == {}
    assert read.offsets == {read.tp: 6}


def test_a_read_cancelled_while_it_waits_leaves_the_start_at_the_last_record_applied(
    thresholds_harness: Harness,
) -> None:
    # the highwater is past the last record, so the read waits until cancelled
    read = Read(thresholds_harness, records=10, start=-1, highwater=29)

    with pytest.raises(TimeoutError):
        asyncio.run(read.run(timeout=2))

    assert read.applied_offsets == list(range(10))
    assert read.offsets == {read.tp: 9}
    assert read.todo == {read.tp: 29}
