"""Batches in flight: the next batch is processed and its outputs sent while
earlier batches' outputs are still being acknowledged and their state made
durable.

The spec's order of writes holds for every batch: its outputs are acknowledged
before its state is written (store and changelog), and its input events are
acked, so committed, only after that. What no longer waits is the next batch:
it reads the state of the batches before it from `pending`, the writes not yet
in the table, and its crossings go out one processing step after its records
arrive instead of two broker round trips later. A single writer task makes the
batches durable in order, several at a time when they queue up, so a key's
changelog records keep the order of its events.

Failure loses nothing: events of a batch that did not reach its end are not
acked, so not committed, and are processed again after a restart (their
outputs carry the same deterministic ids). A failed send or write ends the
writer and, with it, the agent at its next batch. `drop` lets every batch in
flight go unacked at once (a partition moved under exactly_once, see
`streams.engine.transactions`) and starts a fresh writer.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

__all__ = ["InFlight", "Persist", "Writes"]

Writes = dict[bytes, tuple[int, bytes]]
"""State to write per key: (partition, value)."""

Persist = Callable[[Writes, Sequence[Any]], Awaitable[None]]
"""Writes a batch's state durably (store and changelog) for its events."""


@dataclass(frozen=True)
class _Batch:
    events: Sequence[Any]
    sent: Sequence[asyncio.Future[Any]]
    writes: Writes
    epoch: int


class InFlight:
    """State written by batches whose outputs are sent but not yet durable."""

    def __init__(self, load: Callable[[bytes, int], bytes | None], depth: int = 8) -> None:
        self.pending: dict[bytes, bytes] = {}
        self._load = load
        self._depth = depth
        self._queue: asyncio.Queue[_Batch] = asyncio.Queue(depth)
        self._writer: asyncio.Future[None] | None = None
        self._persist: Persist | None = None
        self._ack: Callable[[Sequence[Any]], Awaitable[None]] | None = None
        self._release: Callable[[int], None] = _ignore
        self._on_failure: Callable[[BaseException], object] | None = None

    def load(self, key: bytes, partition: int) -> bytes | None:
        """The key's newest state: in flight, else in the table."""
        value = self.pending.get(key)
        return self._load(key, partition) if value is None else value

    async def submit(
        self,
        events: Sequence[Any],
        sent: Sequence[asyncio.Future[Any]],
        writes: Writes,
        epoch: int = 0,
    ) -> None:
        """Hand over a processed batch: `sent` are its outputs' acknowledgements.

        Waits while `depth` batches are already in flight; raises the writer's
        error if it has failed. `epoch` is given back to `release` once the
        batch is acked.
        """
        writer = self._writer
        if writer is None:
            raise RuntimeError("InFlight.submit outside InFlight.running()")
        for key, (_, value) in writes.items():
            self.pending[key] = value
        batch = _Batch(events, sent, writes, epoch)
        if not self._queue.full():
            self._check(writer)
            self._queue.put_nowait(batch)
            return
        put = asyncio.ensure_future(self._queue.put(batch))
        await asyncio.wait((put, writer), return_when=asyncio.FIRST_COMPLETED)
        if self._writer is not writer:
            put.cancel()  # dropped meanwhile, with everything in flight
            return
        if not put.done():
            put.cancel()
            self._check(writer)

    def drop(self) -> None:
        """Let every batch in flight go, unacked, and start a fresh writer."""
        writer = self._writer
        if writer is None or self._persist is None or self._ack is None:
            return
        writer.cancel()
        self.pending.clear()
        self._queue = asyncio.Queue(self._depth)
        self._start(self._persist, self._ack)

    def _start(
        self, persist: Persist, ack: Callable[[Sequence[Any]], Awaitable[None]]
    ) -> asyncio.Future[None]:
        writer = self._writer = asyncio.ensure_future(self._run(persist, ack))
        if self._on_failure is not None:
            writer.add_done_callback(partial(_report_failure, self._on_failure))
        return writer

    @contextlib.asynccontextmanager
    async def running(
        self,
        persist: Persist,
        ack: Callable[[Sequence[Any]], Awaitable[None]],
        on_failure: Callable[[BaseException], object] | None = None,
        release: Callable[[int], None] | None = None,
    ) -> AsyncIterator[InFlight]:
        """Run the writer for the body; on a normal exit wait until every batch
        is durable and acked. On an error or a cancellation the batches still
        in flight are dropped unacked, to be processed again after a restart.

        `on_failure` is called with the writer's error as soon as it fails,
        even while no new batch arrives to raise it; `release` with each
        acked batch's epoch."""
        self.pending.clear()
        self._queue = asyncio.Queue(self._depth)
        self._persist, self._ack = persist, ack
        self._on_failure = on_failure
        self._release = release or _ignore
        self._start(persist, ack)
        try:
            yield self
            assert self._writer is not None  # noqa: S101 - set by _start above
            await self._drain(self._writer)
        finally:
            writer, self._writer = self._writer, None
            if writer is not None:
                writer.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await writer
            self.pending.clear()

    async def _run(self, persist: Persist, ack: Callable[[Sequence[Any]], Awaitable[None]]) -> None:
        queue = self._queue
        while True:
            batches = [await queue.get()]
            while not queue.empty():
                batches.append(queue.get_nowait())
            writes: Writes = {}
            events: list[Any] = []
            for batch in batches:
                await asyncio.gather(*batch.sent)
                writes.update(batch.writes)
                events.extend(batch.events)
            await persist(writes, events)
            pending = self.pending
            for key, (_, value) in writes.items():
                if pending.get(key) is value:  # no later batch wrote the key since
                    del pending[key]
            await ack(events)
            for batch in batches:
                self._release(batch.epoch)
                queue.task_done()

    async def _drain(self, writer: asyncio.Future[None]) -> None:
        joined = asyncio.ensure_future(self._queue.join())
        await asyncio.wait((joined, writer), return_when=asyncio.FIRST_COMPLETED)
        if not joined.done():
            joined.cancel()
            self._check(writer)

    @staticmethod
    def _check(writer: asyncio.Future[None]) -> None:
        if writer.done():
            writer.result()  # raises the writer's error
            raise RuntimeError("the in-flight writer stopped")


def _ignore(_: int) -> None:
    pass


def _report_failure(
    on_failure: Callable[[BaseException], object], writer: asyncio.Future[None]
) -> None:
    if not writer.cancelled() and writer.exception() is not None:
        on_failure(writer.exception())  # type: ignore[arg-type]  # checked just above
