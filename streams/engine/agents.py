"""Thin Faust agents: decode -> core -> encode -> send -> (acked) -> save state.

The order of writes is the spec's: a batch's outputs are acknowledged by the
broker before its state reaches the table (and so the changelog), and Faust
commits the input offsets only after both (its commit flushes the producer).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import weakref
from collections.abc import Awaitable, Callable, Iterator, Sequence
from functools import partial
from typing import Any

import faust
from faust import streams as faust_streams
from faust.stores import memory as memory_store

from streams.config import Settings
from streams.core.rules import Rules
from streams.engine import batches, transport
from streams.engine.brokers import BrokerWatch, watch_brokers
from streams.engine.guard import InputGuard
from streams.engine.metrics import WorkerMetrics
from streams.engine.pipeline import InFlight
from streams.engine.probe import latest_offset_is_exact
from streams.engine.transactions import MIGRATED, Sender, Stale, gate_of, migrated, retrieved
from streams.engine.watchdog import fail_fast
from streams.engine.web import Readiness, register_pages
from streams.process.processors import (
    TICK,
    Consumed,
    CrossingProcessor,
    LiveCounters,
    Outgoing,
    PolicyProcessor,
)

__all__ = ["register"]

log = logging.getLogger("streams.engine.agents")


def _raw() -> faust.Schema:
    # keys and values stay bytes: the codec does the JSON, once
    return transport.RawSchema(
        key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
    )


def wall_clock_us() -> int:
    """The wall clock, UTC microseconds since the epoch."""
    return time.time_ns() // 1000


@contextlib.contextmanager
def _as_current(event: Any) -> Iterator[None]:
    # A table write goes to the changelog partition of Faust's *current* event.
    # A batch mixes partitions and its state is written after the batch's
    # outputs are acknowledged, so point the current event at one of the key's
    # own partition first, exactly as Stream does for each event it yields.
    token = faust_streams._current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        faust_streams._current_event.reset(token)


def _consumed(events: Sequence[Any]) -> list[Consumed]:
    return [
        Consumed(m.topic, m.partition, m.offset, m.key, m.value)
        for m in (e.message for e in events)
    ]


async def _send_all(sender: Sender, out: list[Outgoing]) -> None:
    """Send every record, then wait for all acknowledgements."""
    await asyncio.gather(*await sender.send_all(out))


MARKER = b"\x00end-of-batch"
"""Table key of the one-record batch that closes each batch's changelog writes."""


async def _write(
    app: faust.App,
    sender: Sender,
    table: Any,
    writes: dict[bytes, tuple[int, bytes]],
    events: Sequence[Any],
    markers: bool = True,
) -> None:
    """Write the batch's state to the table's store and changelog, then, with
    `markers`, close it with a batch of exactly one record.

    The changelog records go straight to the producer, awaited together, rather
    than through `Table.__setitem__`, which queues each one in Faust's producer
    buffer behind a future of its own (a third of the worker's time with one
    write per event; measured 7,600 -> 10,000 events/s), as whole record
    batches per partition (`transport.Producer.send_records`, 15-18k ->
    21-23k events/s) except under transactions. What the table would do
    besides is kept: the store write (for the key's partition, hence the
    current event) and, once the changelog has it, the store's persisted offset.

    Tansu answers ListOffsets(latest) with the start of the last record batch
    + 1, and Faust's recovery stops at that offset: records after the first
    one of a multi-record final batch would never be restored. A final batch
    of one record makes the answer exact, so recovery reads every write;
    whether the broker needs it is measured at start-up (`streams.engine.probe`).
    """
    if not writes:
        return
    last_of_partition = {e.message.partition: e for e in events}
    store = table.data
    topic = table.changelog_topic.get_topic_name()
    producer = sender.producer
    send = sender.send
    by_partition: dict[int, list[tuple[bytes, bytes]]] = {}
    for key, (partition, value) in writes.items():
        by_partition.setdefault(partition, []).append((key, value))
    pending = []
    for partition, records in by_partition.items():
        with _as_current(last_of_partition[partition]):
            for key, value in records:
                store[key] = value
        sizes = [1]  # records behind the last future: one, when sent one by one
        if isinstance(producer, transport.Producer) and not sender.transactional:
            sent = await producer.send_records(topic, partition, records, sizes)
            for future in sent:
                future.add_done_callback(retrieved)
        else:  # exactly_once, or another transport
            sent = [await send(topic, k, v, partition, partition) for k, v in records]
        if not markers:
            # the store's persisted offset is the batch's last record's
            sent[-1].add_done_callback(partial(_persisted, app, store, later=sizes[-1] - 1))
        pending += sent
    await asyncio.gather(*pending)
    if not markers:
        return
    for partition, event in last_of_partition.items():
        marker = str(event.message.offset).encode()
        with _as_current(event):
            store[MARKER] = marker
        closing = await send(topic, MARKER, marker, partition, partition)
        closing.add_done_callback(partial(_persisted, app, store))


async def _moved(app: faust.App, gate: Any, epoch: int, exc: Exception) -> bool:
    """Whether `exc` means the batch's partition moved (exactly_once): the
    batch is dropped unacked, and a fenced producer makes the worker rejoin."""
    if isinstance(exc, Stale) or (gate.enabled and epoch != gate.epoch):
        return True
    if isinstance(exc, MIGRATED):
        await migrated(app.consumer, exc)
        return True
    return False


def _persisted(app: faust.App, store: Any, sent: asyncio.Future[Any], later: int = 0) -> None:
    # what Faust's Table does when its changelog write is acknowledged: a
    # RocksDB store remembers the offset, so a restart reads only what follows
    if sent.cancelled() or sent.exception() is not None:
        return
    written = sent.result()
    offset = written.offset + later  # `later` records follow the one acknowledged
    if app.in_transaction:
        app.tables.persist_offset_on_commit(store, written.topic_partition, offset)
    else:
        store.set_persisted_offset(written.topic_partition, offset)


def _acker(stream: Any, metrics: WorkerMetrics) -> Callable[[Sequence[Any]], Awaitable[None]]:
    """Acks events on `stream`, which lets Faust commit their offsets, once
    their outputs are acknowledged (the processing time ends here)."""

    async def ack(events: Sequence[Any]) -> None:
        metrics.processed(events)
        for event in events:
            await stream.ack(event)

    return ack


EXCERPT_BYTES = 200
"""The most of a refused record a log line shows (SPEC.md: never the whole record)."""


def log_refused(counters: LiveCounters) -> None:
    """Log the records refused since the last call, one line each (reason, excerpt)."""
    for record, rejected in counters.refused:
        value = record.value or b""
        log.warning(
            "record refused (%s): %s",
            rejected.reason,
            rejected.detail,
            extra={
                "topic": record.topic,
                "partition": record.partition,
                "offset": record.offset,
                "reason": rejected.reason,
                "record": value[:EXCERPT_BYTES].decode("utf-8", "backslashreplace"),
            },
        )
    if counters.refused_more:
        log.warning("%d more records refused (not logged)", counters.refused_more)
    counters.refused.clear()
    counters.refused_more = 0


def _getter(table: Any) -> Callable[[bytes], bytes | None]:
    """`table.get`, or with the memory store its dict's own `get`: Faust's
    `Table.get` makes eight Python calls per key, and counts the read for a
    web monitor the worker does not run (5 % of its time)."""
    store = table.data
    getter: Callable[[bytes], bytes | None] = (
        store.data.get if type(store) is memory_store.Store else table.get
    )
    return getter


def register(app: faust.App, settings: Settings, rules: Rules) -> None:
    """Declare the topics, tables, agents and timers of the worker on `app`."""
    topics = settings.topics
    changes = app.topic(topics.follower_changes, schema=_raw())
    policy_inputs = app.topic(
        topics.threshold_crossings,
        topics.verification_results,
        topics.policy_ticks,
        schema=_raw(),
    )

    def table(name: str) -> Any:
        # bytes key and value types give raw changelog serializers: the codec
        # has already encoded both
        return app.Table(
            name, default=None, partitions=settings.partitions, key_type=bytes, value_type=bytes
        )

    account_state = table("account-state")
    policy_state = table("policy-state")
    policy_clock = table("policy-clock")

    flight = InFlight(_getter(account_state))
    crossing = CrossingProcessor(rules, topics, flight.load)

    def scan(partition: int) -> Iterator[tuple[bytes, bytes]]:
        from streams.codec import decode_policy_state

        for key, value in list(policy_state.items()):
            if key != MARKER and decode_policy_state(value)[1] == partition:
                yield key, value

    def last_tick(partition: int) -> int | None:
        value = policy_clock.get(str(partition).encode())
        return None if value is None else int(value)

    policy = PolicyProcessor(rules, topics, _getter(policy_state), scan, last_tick)
    brokers = BrokerWatch(settings.broker_timeout)
    readiness = Readiness(app, agents=["crossings", "policy"], brokers=brokers)

    @app.task
    async def watch_the_brokers() -> None:
        await watch_brokers(app, brokers)

    metrics = WorkerMetrics(
        app,
        settings,
        crossing.counters,
        policy.counters,
        {t.name: t for t in (account_state, policy_state)},
        ready=lambda: readiness.status()[0] == "ready",
    )
    register_pages(app, settings, readiness, metrics, account_state, policy_state)

    @app.on_partitions_assigned.connect  # type: ignore[arg-type]
    async def rescan(sender: Any, assigned: Any, **_: Any) -> None:
        readiness.joined = True
        # another worker may have written the states of these partitions
        policy.forget_deadlines()

    probed: list[asyncio.Future[bool]] = []

    async def markers_needed() -> bool:
        """Whether changelog writes need end markers on this broker (measured once)."""
        if not probed:
            await app.maybe_start_producer()
            probed.append(
                asyncio.ensure_future(
                    latest_offset_is_exact(app, app.producer, topics.policy_ticks)
                )
            )
        return not await probed[0]

    guard = InputGuard(app)
    batch = settings.batch_size

    gate = gate_of(app)

    rejoining: set[asyncio.Future[None]] = set()

    def writer_failed(exc: BaseException) -> None:
        if isinstance(exc, (*MIGRATED, Stale)):  # a partition moved: drop, rejoin, carry on
            task = asyncio.ensure_future(migrated(app.consumer, exc))
            rejoining.add(task)
            task.add_done_callback(rejoining.discard)
        else:
            fail_fast("the crossings writer", exc)

    async def _crossings_batch(events: list[Any], epoch: int, sender: Sender) -> None:
        await guard.check(events)
        out, writes = crossing.process(_consumed(events))
        if crossing.counters.refused:
            log_refused(crossing.counters)
        await flight.submit(events, await sender.send_all(out), writes, epoch)

    @app.agent(changes, name="crossings")
    async def crossings(stream: Any) -> None:
        try:
            # the producer, or with exactly_once the transaction manager
            sender = Sender(app, await app.maybe_start_producer(), topics.follower_changes)
            markers = await markers_needed()
            persist = partial(_write, app, sender, account_state, markers=markers)
            gate.on_drop(flight.drop)
            acker = _acker(stream, metrics)
            async with flight.running(persist, acker, writer_failed, gate.leave):
                async for events in batches.from_stream(stream, batch):
                    epoch = gate.epoch  # taken before a revocation: stale, dropped
                    if not await gate.enter(epoch):
                        continue
                    try:
                        sender.epoch = epoch
                        await gate.guard(epoch, _crossings_batch(events, epoch, sender))
                    except Exception as exc:
                        gate.leave(epoch)
                        if not await _moved(app, gate, epoch, exc):
                            raise
        except Exception as exc:  # every input is decoded totally: this is not one
            fail_fast("agent crossings", exc)

    async def _policy_batch(
        events: list[Any], epoch: int, sender: Sender, markers: bool, ack: Any
    ) -> None:
        await guard.check(events)
        out, writes, ticks = policy.process(_consumed(events), wall_clock_us())
        if policy.counters.refused:
            log_refused(policy.counters)
        await _send_all(sender, out)
        clock = {str(p).encode(): (p, str(t).encode()) for p, t in ticks.items()}
        await _write(app, sender, policy_clock, clock, events, markers)
        await _write(app, sender, policy_state, writes, events, markers)
        gate.check(epoch)
        await ack(events)

    @app.agent(policy_inputs, name="policy")
    async def verification_policy(stream: Any) -> None:
        try:
            sender = Sender(app, await app.maybe_start_producer(), topics.threshold_crossings)
            markers = await markers_needed()
            ack = _acker(stream, metrics)
            async for events in batches.from_stream(stream, batch):
                epoch = gate.epoch
                if not await gate.enter(epoch):
                    continue
                try:
                    sender.epoch = epoch
                    await gate.guard(epoch, _policy_batch(events, epoch, sender, markers, ack))
                except Exception as exc:
                    if not await _moved(app, gate, epoch, exc):
                        raise
                finally:
                    gate.leave(epoch)
        except Exception as exc:  # every input is decoded totally: this is not one
            fail_fast("agent policy", exc)

    @app.timer(interval=1.0, on_leader=True)
    async def tick() -> None:
        now = str(wall_clock_us()).encode()
        for partition in range(settings.partitions):
            await app.producer.send(topics.policy_ticks, TICK, now, partition, None, None)

    @app.timer(interval=10.0)
    async def report() -> None:
        c, p = crossing.counters, policy.counters
        log.info(
            "events=%d crossings=%d stale=%d redelivered=%d dead_letters=%d policy_records=%d",
            c.events_total,
            c.crossings_total,
            c.stale_events_total,
            c.redelivered_total,
            c.dead_letters_total + p.dead_letters_total,
            p.policy_records_total,
        )
