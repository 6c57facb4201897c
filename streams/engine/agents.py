"""Thin Faust agents and their timers: decode -> core -> encode -> send ->
(acked) -> save state, in the order `streams.engine.state_writes` keeps;
topics and tables as `streams.config.topology` lists them."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from functools import partial
from typing import Any

import faust

from streams.config import Settings
from streams.config.topology import AGENTS, CROSSINGS, POLICY, topology
from streams.core.rules import Rules
from streams.engine import batches, fetches, stores, transport
from streams.engine.brokers import BrokerWatch, watch_brokers
from streams.engine.guard import InputGuard
from streams.engine.logs import log_refused
from streams.engine.metrics import WorkerMetrics
from streams.engine.pipeline import InFlight
from streams.engine.probe import latest_offset_is_exact
from streams.engine.state_writes import MARKER, write_state
from streams.engine.transactions import MIGRATED, Sender, Stale, gate_of, migrated, moved
from streams.engine.watchdog import fail_fast
from streams.engine.web import Readiness, register_pages
from streams.process.processors import (
    TICK,
    CrossingProcessor,
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


async def _send_all(sender: Sender, out: list[Outgoing]) -> None:
    """Send every record, then wait for all acknowledgements."""
    await asyncio.gather(*await sender.send_all(out))


def _acker(app: faust.App, metrics: WorkerMetrics) -> Callable[[Sequence[Any]], Awaitable[None]]:
    """Acks messages, which lets Faust commit their offsets, once their
    outputs are acknowledged (the processing time ends here)."""
    ack_all = fetches.ack_all(app)

    async def ack(messages: Sequence[Any]) -> None:
        metrics.processed(messages)
        ack_all(messages)

    return ack


def register(app: faust.App, settings: Settings, rules: Rules) -> None:
    """Declare the topics, tables, agents and timers of the worker on `app`."""
    topics = settings.topics
    plan = topology(settings)
    changes = app.topic(*plan.inputs(CROSSINGS), schema=_raw())
    policy_inputs = app.topic(*plan.inputs(POLICY), schema=_raw())

    def table(name: str) -> Any:
        # bytes key and value types give raw changelog serializers: the codec
        # has already encoded both
        return app.Table(
            name, default=None, partitions=plan.partitions, key_type=bytes, value_type=bytes
        )

    account_state = table("account-state")
    policy_state = table("policy-state")
    policy_clock = table("policy-clock")

    flight = InFlight(stores.reader(account_state))
    crossing = CrossingProcessor(rules, topics, flight.load)

    def scan(partition: int) -> Iterator[tuple[bytes, bytes]]:
        from streams.codec import decode_policy_state

        for key, value in list(policy_state.items()):
            if key != MARKER and decode_policy_state(value)[1] == partition:
                yield key, value

    def last_tick(partition: int) -> int | None:
        value = policy_clock.get(str(partition).encode())
        return None if value is None else int(value)

    policy = PolicyProcessor(rules, topics, stores.reader(policy_state), scan, last_tick)
    brokers = BrokerWatch(settings.broker_timeout)
    running = [a for a in AGENTS if a != POLICY or settings.policy]
    readiness = Readiness(app, agents=running, brokers=brokers)

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

    async def _crossings_batch(messages: list[Any], epoch: int, sender: Sender) -> None:
        await guard.check(messages)
        out, writes = crossing.process(messages)
        if crossing.counters.refused:
            log_refused(crossing.counters)
        await flight.submit(messages, await sender.send_all(out), writes, epoch)

    @app.agent(changes, name=CROSSINGS)
    async def crossings(stream: Any) -> None:
        try:
            # the producer, or with exactly_once the transaction manager
            sender = Sender(app, await app.maybe_start_producer(), topics.follower_changes)
            markers = await markers_needed()
            persist = partial(write_state, app, sender, account_state, markers=markers)
            gate.on_drop(flight.drop)
            acker = _acker(app, metrics)
            async with flight.running(persist, acker, writer_failed, gate.leave):
                async for messages in batches.from_stream(stream, batch):
                    epoch = gate.epoch  # taken before a revocation: stale, dropped
                    if not await gate.enter(epoch):
                        continue
                    try:
                        sender.epoch = epoch
                        await gate.guard(epoch, _crossings_batch(messages, epoch, sender))
                    except Exception as exc:
                        gate.leave(epoch)
                        if not await moved(app, gate, epoch, exc):
                            raise
        except Exception as exc:  # every input is decoded totally: this is not one
            fail_fast("agent crossings", exc)

    async def _policy_batch(
        messages: list[Any], epoch: int, sender: Sender, markers: bool, ack: Any
    ) -> None:
        await guard.check(messages)
        out, writes, ticks = policy.process(messages, wall_clock_us())
        if policy.counters.refused:
            log_refused(policy.counters)
        await _send_all(sender, out)
        clock = {str(p).encode(): (p, str(t).encode()) for p, t in ticks.items()}
        await write_state(app, sender, policy_clock, clock, messages, markers)
        await write_state(app, sender, policy_state, writes, messages, markers)
        gate.check(epoch)
        await ack(messages)

    async def verification_policy(stream: Any) -> None:
        try:
            sender = Sender(app, await app.maybe_start_producer(), topics.threshold_crossings)
            markers = await markers_needed()
            ack = _acker(app, metrics)
            async for messages in batches.from_stream(stream, batch):
                epoch = gate.epoch
                if not await gate.enter(epoch):
                    continue
                try:
                    sender.epoch = epoch
                    await gate.guard(epoch, _policy_batch(messages, epoch, sender, markers, ack))
                except Exception as exc:
                    if not await moved(app, gate, epoch, exc):
                        raise
                finally:
                    gate.leave(epoch)
        except Exception as exc:  # every input is decoded totally: this is not one
            fail_fast("agent policy", exc)

    async def tick() -> None:
        now = str(wall_clock_us()).encode()
        for partition in range(settings.partitions):
            await app.producer.send(topics.policy_ticks, TICK, now, partition, None, None)

    if settings.policy:
        app.agent(policy_inputs, name=POLICY)(verification_policy)
        app.timer(interval=1.0, on_leader=True)(tick)

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
