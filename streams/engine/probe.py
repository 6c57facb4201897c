"""Measure, at start-up, whether the broker's latest offset is exact.

Kafka answers ListOffsets(latest) with the offset after the last record.
Tansu answers with the start of the last record batch + 1, and Faust's table
recovery stops there, so records after the first of a multi-record final
batch would never be restored; against such a broker every batch of changelog
writes ends with a batch of one record (`streams.engine.state_writes.MARKER`).
Whether it is needed is measured, not guessed from a name: one batch of two
records goes to partition 0 of the internal ticks topic (the policy agent
ignores what is not a tick), and the answer is compared with the fetch high
watermark. Anything unclear keeps the markers, the safe side.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from streams.engine.restore import new_reader

__all__ = ["PROBE", "latest_offset_is_exact"]

log = logging.getLogger("streams.engine.probe")

PROBE = b"offset-probe"
"""Key and value of the probe records (not a tick: ignored by the policy)."""


async def latest_offset_is_exact(app: Any, producer: Any, topic: str) -> bool:
    """Whether ListOffsets(latest) on `topic` is the offset after its last record."""
    from aiokafka import TopicPartition

    tp = TopicPartition(topic, 0)
    reader = new_reader(app, "probe")
    await reader.start()
    try:
        for _ in range(5):
            (sent,) = await producer.send_records(topic, 0, [(PROBE, PROBE), (PROBE, PROBE)])
            base = (await sent).offset
            latest = (await reader.end_offsets([tp]))[tp]
            reader.assign([tp])
            reader.seek(tp, base)
            await reader.getmany(tp, timeout_ms=2000)
            highwater = reader.highwater(tp)
            if highwater == base + 2:  # nothing was written after the probe
                exact = bool(latest == base + 2)
                log.info(
                    "the broker's latest offset is %s (ListOffsets %d, high watermark %d): "
                    "changelog end markers %s",
                    "exact" if exact else "the last batch's start + 1",
                    latest,
                    highwater,
                    "off" if exact else "on",
                )
                return exact
            await asyncio.sleep(0.1)
    finally:
        await reader.stop()
    log.info("the broker's latest offset could not be measured: changelog end markers on")
    return False
