"""Refuses to process an input partition out of order.

Faust can drop in-memory input records in a race at the end of table recovery
(faust-streaming issue #596, open) and then deliver later ones. Processing
those would apply an account's events out of order, and re-reading the
dropped ones afterwards cannot undo it; worse, Faust counts the offsets it
skipped as a gap (`Consumer._add_gap`) and commits past them once a later
record is acked.

Not every gap is a loss: an upstream transactional producer leaves a marker
at one offset per transaction, and under read_committed the records of
aborted transactions are never delivered either. So a delivered offset past
the next expected one is checked with the broker: a consumer of our own,
with the worker's isolation level, reads the skipped offsets. If it is given
a record there, records were lost in the worker, which exits before touching
the batch (`thresholds worker` restarts it in a fresh process that reads
again from the committed offset, which no gap has passed: nothing after the
gap was acked). If it is given none, the gap is legitimate and the batch
goes on.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Sequence
from typing import Any

import faust

from streams.engine.restore import new_reader
from streams.engine.watchdog import RESTART_EXIT_CODE

__all__ = ["InputGuard"]

log = logging.getLogger("streams.engine.guard")


class InputGuard:
    """Checks that each input partition is processed without a lost record."""

    def __init__(self, app: faust.App) -> None:
        self.app = app
        self.expected: dict[Any, int] = {}
        self.legitimate_gaps = 0
        self._reader: Any = None

        @app.on_partitions_assigned.connect  # type: ignore[arg-type]
        async def reset(sender: Any, assigned: Any, **_: Any) -> None:
            # after any rebalance, Faust resumes each partition at its committed offset
            self.expected.clear()

    async def check(self, messages: Sequence[Any]) -> None:
        """Exit (to be restarted) if `messages` skip records of their partitions."""
        expected = self.expected
        committed: Any = self.app.consumer  # Faust's ack bookkeeping, read only
        for message in messages:
            tp, offset = message.tp, message.offset
            want = expected.get(tp)
            if want is None:
                want = committed._committed_offset.get(tp)
                if want is None:
                    want = 0  # never committed: reading starts at the beginning
            if want is not None and offset > want:
                if await self._records_between(tp, want, offset):
                    log.error(
                        "input records %s offsets %d..%d were lost inside the worker "
                        "(faust-streaming #596); exiting to re-read them in order",
                        tp,
                        want,
                        offset - 1,
                    )
                    logging.shutdown()
                    os._exit(RESTART_EXIT_CODE)
                self.legitimate_gaps += 1
            if want is None or offset >= want:
                expected[tp] = offset + 1

    async def _records_between(self, tp: Any, start: int, end: int) -> bool:
        """Whether the broker gives a consumer like ours any record of `tp` in [start, end)."""
        from aiokafka import TopicPartition

        reader = self._reader
        if reader is None:
            reader = new_reader(self.app, "guard")
            try:
                await reader.start()
            except BaseException:
                # a batch cancelled here (a revocation) must not leave a reader
                # that never started for the next check
                with contextlib.suppress(Exception):
                    await reader.stop()
                raise
            self._reader = reader
        partition = TopicPartition(tp.topic, tp.partition)
        reader.assign([partition])
        reader.seek(partition, start)
        for _ in range(30):
            if await reader.position(partition) >= end:
                return False
            batch = await reader.getmany(partition, timeout_ms=1000)
            if any(record.offset < end for record in batch.get(partition, ())):
                return True
        return True  # no answer: assume the worst, a restart reads again safely
