"""Exactly-once across rebalances: which transaction a record goes to, when a
transaction may commit, and what a revocation does to it.

Faust commits a partition's transaction (its outputs, its changelog writes
and its input offsets) whenever its consumer commits: every
`broker_commit_interval`, every `broker_commit_every` acks, and at a
rebalance. Our agents keep batches in flight (`streams.engine.pipeline`), so
such a commit could land between a batch's outputs and its offsets, and a
crash after it would send the outputs again. Here:

- **The gate.** Every batch enters the `Gate` before its first send and
  leaves it when its events are acked (or it is dropped). A commit closes the
  gate: no batch starts, the batches inside finish, then Faust commits, so a
  committed transaction holds whole batches and their offsets, never part of
  one.
- **A revocation** (`close_for_revocation`, called by the consumer before
  Faust forgets its acks) first tries to end cleanly within a bound: the
  batches inside finish and Faust commits them. If that cannot finish (a
  broker that does not answer, a producer fenced because the partition has
  already moved), it ends dirty: the batches in flight are dropped
  unacknowledged, the tables' state of every partition is discarded and read
  again from the changelog (as a `read_committed` reader sees it), and the
  open transactions are aborted. Either way the gate's epoch moves on: a
  batch taken before the revocation is dropped, not sent; and every
  transactional producer is closed, so nothing for a revoked partition is
  written after the move.
- **An assignment** (`TransactionManager.on_rebalance`) starts a fresh
  transactional producer for each assigned partition: its `init_transactions`
  fences any older producer of that id and aborts its open transaction, so
  the partition's changelog and outputs are stable before recovery reads them.
- **A fenced producer** outside a rebalance (this worker was dropped from the
  group, its partitions moved) is the same event: dirty, then a rejoin.

At-least-once uses none of this (`Gate.enabled` is false).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import faust
from aiokafka.errors import IllegalOperation, KafkaError, ProducerFenced
from faust.transport.consumer import TransactionManager as FaustTransactionManager
from faust.types import TP

from streams.engine.watchdog import RESTART_EXIT_CODE, stopping_if_refused

__all__ = [
    "GATE_ATTRIBUTE",
    "Gate",
    "Sender",
    "Stale",
    "TransactionManager",
    "close_for_revocation",
    "gate_of",
    "retrieved",
]

log = logging.getLogger("streams.engine.transactions")

_T = TypeVar("_T")

GATE_ATTRIBUTE = "thresholds_gate"
"""The attribute of the Faust app that holds its `Gate` (set by `create_app`)."""

REJOIN_SECONDS = 30.0
"""How long a worker that dropped its work waits for the group to assign it partitions."""

MIGRATED = (ProducerFenced, IllegalOperation)
"""Errors that mean a transaction is lost: its partition moved to another
worker under our feet (the producer fenced), or the producer's transaction
failed in the background (aiokafka then refuses every send with
IllegalOperation: "Can't send messages while not in transaction")."""


class Stale(Exception):
    """A batch taken before a revocation: drop it, never send or ack it."""


class Gate:
    """Lets a commit or a revocation in only between whole batches (exactly_once)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.epoch = 0
        self._busy = 0
        self._closers = 0
        self._rebalancing = False
        self._waiters: list[asyncio.Future[None]] = []
        self._guarded: set[asyncio.Future[Any]] = set()
        self._idle = asyncio.Event()
        self._idle.set()
        self._on_drop: list[Callable[[], object]] = []

    def on_drop(self, callback: Callable[[], object]) -> None:
        """Call `callback` whenever the epoch moves on (drop the work in flight)."""
        self._on_drop.append(callback)

    async def enter(self, epoch: int) -> bool:
        """Start a batch taken at `epoch`; False when it is stale (drop it)."""
        if not self.enabled:
            return True
        while epoch == self.epoch and (self._closers or self._rebalancing):
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            await waiter  # woken when the gate opens or the epoch moves on
        if epoch != self.epoch:
            return False
        self._busy += 1
        self._idle.clear()
        return True

    def leave(self, epoch: int) -> None:
        """End a batch that entered at `epoch`: acked, or dropped."""
        if not self.enabled or epoch != self.epoch:
            return  # the epoch's move has already let it go
        self._busy -= 1
        if self._busy <= 0:
            self._busy = 0
            self._idle.set()

    async def guard(self, epoch: int, work: Awaitable[_T]) -> _T:
        """Await a batch's `work`; if a revocation moves the epoch on first,
        it is cancelled (`_move`) and `Stale` raised. A send or an
        acknowledgement of a producer that a revocation closed may never
        complete: the batch must not wait for it."""
        if not self.enabled:
            return await work
        if epoch != self.epoch:
            if asyncio.iscoroutine(work):
                work.close()
            raise Stale(f"batch of epoch {epoch}, now {self.epoch}")
        task = asyncio.ensure_future(work)
        self._guarded.add(task)
        try:
            await asyncio.wait((task,))
        except asyncio.CancelledError:
            task.cancel()
            raise
        finally:
            self._guarded.discard(task)
        if task.cancelled():
            raise Stale(f"batch of epoch {epoch} dropped: now {self.epoch}")
        return task.result()

    def check(self, epoch: int) -> None:
        """Raise `Stale` when a revocation happened since `epoch`."""
        if self.enabled and epoch != self.epoch:
            raise Stale(f"batch of epoch {epoch}, now {self.epoch}")

    def _update(self) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def closed(
        self, action: Callable[[], Awaitable[Any]], within: float | None = None
    ) -> Any:
        """Run `action` with no batch inside: new ones wait, those inside finish.
        TimeoutError if the batches and the action have not finished within
        `within` seconds (the action is cancelled)."""
        self._closers += 1
        self._update()
        try:
            async with asyncio.timeout(within):
                await self._idle.wait()
                return await action()
        finally:
            self._closers -= 1
            self._update()

    async def revoke(self, commit: Callable[[], Awaitable[Any]], within: float) -> None:
        """Run `commit` with no batch inside, then start the rebalance while the
        gate is still closed: a batch let in between would be acked into the
        next transaction after its outputs were aborted with this one."""

        async def commit_then_rebalance() -> None:
            await commit()
            self.start_rebalance()

        await self.closed(commit_then_rebalance, within)

    @property
    def rebalancing(self) -> bool:
        """Between a revocation and the next assignment's transactions."""
        return self._rebalancing

    def start_rebalance(self) -> None:
        """Revoked (or a producer fenced): drop everything in flight; no batch
        starts until `end_rebalance`."""
        self._rebalancing = True
        self._move()

    def end_rebalance(self) -> None:
        """Assigned, with fresh transactions: batches may start again. Those
        taken during the rebalance are dropped too: Faust seeks every partition
        back to its committed offset, and a batch taken before the seek would
        be processed ahead of the records the seek reads again (their state
        would then take those for redeliveries and skip them)."""
        self._rebalancing = False
        self._move()

    def _move(self) -> None:
        """A new epoch: batches of older ones are stale, whatever their state."""
        self.epoch += 1
        self._update()  # waiting batches see the new epoch and are dropped
        # Guarded batches are cancelled in this very step, before the caller
        # discards the state: a batch given its acknowledgements just now must
        # not write its state into the emptied store (it would survive the
        # re-read of the changelog).
        guarded, self._guarded = self._guarded, set()
        current = asyncio.current_task()
        for task in guarded:
            if task is not current:  # one that found the move itself ends on its own
                task.cancel()
        for callback in self._on_drop:
            callback()
        self._busy = 0  # `leave` ignores older epochs: count the new one's batches only
        self._idle.set()


def retrieved(future: asyncio.Future[Any]) -> None:
    """Mark a send's failure as seen. A batch stops at its first failed
    acknowledgement; asyncio would log each other one as an ERROR of its own
    ("Future exception was never retrieved"), burying the one line that says
    why the worker stops."""
    if not future.cancelled():
        future.exception()


def gate_of(app: Any) -> Gate:
    """The app's gate."""
    gate: Gate = getattr(app, GATE_ATTRIBUTE)
    return gate


class Sender:
    """Sends an agent's records: plainly, or under exactly_once in the
    transaction of the input partition that caused them.

    Faust's `TransactionManager.send` picks the transaction by the destination
    topic's group, so one input's outputs, its state and its offset could land
    in different transactions committed one after another. Here every record
    of an input partition goes to that partition's transaction, the one Faust
    commits the partition's offsets in (all our topics have the same number of
    partitions, so Faust puts them in one group).
    """

    def __init__(self, app: faust.App, producer: Any, input_topic: str) -> None:
        self.app = app
        self.input_topic = input_topic
        self.transactional = bool(app.in_transaction)
        # behind the transaction manager: the producer of every transaction
        self.producer = producer.producer if self.transactional else producer
        self.gate = gate_of(app)
        self.epoch = 0  # the epoch of the batch being sent (set by the agent)
        self._prefix: str | None = None

    def transactional_id(self, source_partition: int) -> str:
        """The transaction of an input partition, as Faust names it."""
        if self._prefix is None:
            group = self.app.assignor.group_for_topic(self.input_topic)
            self._prefix = f"{self.app.conf.id}-{group}-"
        return f"{self._prefix}{source_partition}"

    async def send(
        self,
        topic: str,
        key: bytes | None,
        value: bytes,
        partition: int | None,
        source_partition: int,
    ) -> asyncio.Future[Any]:
        """Send one record; return its acknowledgement."""
        if self.transactional:
            self.gate.check(self.epoch)
            sent: asyncio.Future[Any] = await self.producer.send(
                topic,
                key,
                value,
                partition,
                None,
                None,
                transactional_id=self.transactional_id(source_partition),
            )
        else:
            sent = await self.producer.send(topic, key, value, partition, None, None)
        sent.add_done_callback(retrieved)
        return sent

    async def send_all(self, out: list[tuple[str, bytes | None, bytes, int]]) -> list[Any]:
        """Send every record without awaiting its acknowledgement; return those."""
        send = self.send
        return [await send(topic, key, value, None, source) for topic, key, value, source in out]


async def close_for_revocation(consumer: Any, timeout: float) -> None:
    """End this worker's transactions before its partitions are revoked (see
    the module's docstring): cleanly within `timeout` seconds, else dirty."""
    app = consumer.app
    gate = gate_of(app)

    try:
        await gate.revoke(lambda: consumer.commit_unguarded(start_new_transaction=False), timeout)
    except (TimeoutError, KafkaError, Stale) as exc:
        log.warning("Revocation: work in flight dropped, transactions aborted (%r)", exc)
        gate.start_rebalance()
        forget_state(app)
        await close_producers(consumer.transactions.producer, abort=True)
    else:
        await close_producers(consumer.transactions.producer, abort=False)


def forget_state(app: Any) -> None:
    """Discard every table's state and recovery offsets: they may hold writes
    of an aborted transaction. Recovery then reads the changelogs again."""
    recovery = app.tables.recovery
    for table in app.tables.values():
        store = table.data
        data = getattr(store, "data", None)
        if isinstance(data, dict):
            data.clear()
            store._key_partition.clear()  # the memory store's key -> partition map
        changelog = table.changelog_topic.get_topic_name()
        for tp in [tp for tp in recovery.active_offsets if tp.topic == changelog]:
            del recovery.active_offsets[tp]  # read again from the start


async def close_producers(producer: Any, *, abort: bool) -> None:
    """Abort (when `abort`) and stop every transactional producer of `producer`."""
    producers = producer._transaction_producers
    # taken all at once: a revocation and a commit given up can close at the
    # same moment, and each producer must be closed by one of them only
    closing = list(producers.items())
    producers.clear()
    for transactional_id, transaction_producer in closing:
        try:
            if abort and transaction_producer._txn_manager.is_in_transaction():
                await asyncio.wait_for(transaction_producer.abort_transaction(), 10.0)
        except (TimeoutError, KafkaError) as exc:
            log.info(
                "Transaction %s not aborted (%r): its next owner aborts it", transactional_id, exc
            )
        finally:
            try:  # a producer whose broker hangs may not stop: let it go
                await asyncio.wait_for(transaction_producer.stop(), 10.0)
            except (TimeoutError, KafkaError) as exc:
                log.info("%s not stopped cleanly (%r)", transactional_id, exc)


class TransactionManager(FaustTransactionManager):
    """Faust's transaction manager: a fresh transactional producer per assigned
    partition at every assignment, and a fenced producer taken as a move."""

    async def on_partitions_revoked(self, revoked: set[TP]) -> None:
        """Nothing to flush: `close_for_revocation` has closed every producer."""

    async def on_rebalance(
        self, assigned: set[TP], revoked: set[TP], newly_assigned: set[TP]
    ) -> None:
        """Begin a transaction for every assigned partition, in a new producer."""
        producer: Any = self.producer
        await close_producers(producer, abort=True)  # none left open by a revocation
        for transactional_id in sorted(self._tps_to_transactional_ids(assigned)):
            transaction_producer = producer._new_producer(transactional_id=transactional_id)
            with stopping_if_refused("starting the partitions' transactions"):
                await transaction_producer.start()  # init_transactions: fences older producers
            producer._transaction_producers[transactional_id] = transaction_producer
            producer._trn_locks[transactional_id] = asyncio.Lock()
            await transaction_producer.begin_transaction()
        gate_of(self.app).end_rebalance()

    async def commit(self, offsets: Any, start_new_transaction: bool = True) -> bool:
        """Commit, or on a fenced producer drop the work in flight and rejoin.
        Nothing is committed while the producers are closed for a rebalance."""
        if gate_of(self.app).rebalancing:
            return False
        try:
            await self.producer.commit_transactions(
                self._by_transactional_id(offsets),
                self.app.conf.id,
                start_new_transaction=start_new_transaction,
            )
        except (*MIGRATED, KeyError) as exc:
            # KeyError: Faust's lock of a transaction this worker has no producer
            # for (its assignment was not carried out whole): the same remedy
            await migrated(self.consumer, exc)
            return False
        return True

    def _by_transactional_id(self, offsets: Any) -> dict[str, dict[TP, int]]:
        by_id: dict[str, dict[TP, int]] = {}
        for tp, offset in offsets.items():
            group = self.app.assignor.group_for_topic(tp.topic)
            by_id.setdefault(f"{self.app.conf.id}-{group}-{tp.partition}", {})[tp] = offset
        return by_id


async def migrated(consumer: Any, exc: BaseException) -> None:
    """A producer was fenced: another worker owns its partition now. Drop the
    work in flight and the state, close the producers, and rejoin the group."""
    app = consumer.app
    gate = gate_of(app)
    if gate.rebalancing:
        return  # a rebalance is under way: it closes and reopens everything
    log.warning("Work in flight dropped; rejoining the group (%r)", exc)
    gate.start_rebalance()
    forget_state(app)
    await close_producers(consumer.transactions.producer, abort=False)
    consumer.request_rejoin()
    watch = asyncio.ensure_future(_restart_unless_assigned(gate, gate.epoch))
    _WATCHES.add(watch)
    watch.add_done_callback(_WATCHES.discard)


_WATCHES: set[asyncio.Future[None]] = set()


async def _restart_unless_assigned(gate: Gate, epoch: int) -> None:
    await asyncio.sleep(REJOIN_SECONDS)
    if gate.rebalancing and gate.epoch == epoch:
        # no assignment came: a fresh process reads again from the committed
        # offsets (`thresholds worker` restarts it), rather than a worker that
        # waits for a rebalance that never happens
        log.warning("No assignment %.0f s after a rejoin; restarting the worker", REJOIN_SECONDS)
        logging.shutdown()
        os._exit(RESTART_EXIT_CODE)


async def moved(app: Any, gate: Gate, epoch: int, exc: Exception) -> bool:
    """Whether `exc` means the batch's partition moved (exactly_once): the
    batch is dropped unacked, and a fenced producer makes the worker rejoin."""
    if isinstance(exc, Stale) or (gate.enabled and epoch != gate.epoch):
        return True
    if isinstance(exc, MIGRATED):
        await migrated(app.consumer, exc)
        return True
    return False
