"""Faust's aiokafka transport, tuned (`shortpoll://` brokers).

Changes to Faust's own consumer and producer, made by subclassing them and
registered through Faust's documented `faust.transports` entry point:

- a configurable fetch wait. Faust builds its worker consumer with
  `fetch_max_wait_ms=1500`. Kafka answers a waiting fetch as soon as data
  arrives, so that costs nothing there; Tansu answers a fetch that finds no
  data only when the wait is over (with what arrived meanwhile), so a
  caught-up worker sees a new record up to 1.5 s late. The wait comes from
  `THRESHOLDS_FETCH_MAX_WAIT_MS` (`Settings.fetch_max_wait_ms`); the README
  says why it is not shorter.
- a fetch loop that hands records off per fetch instead of per record and
  holds input records until a rebalance's seek is done (see
  `Consumer._drain_messages`).
- whole record batches for the changelog writes (`Producer.send_records`).
- the producer buffer's size read without a settings lookup, and input
  topics whose records become events without Faust's serializer registry
  (`RawSchema`, set on the topics by the agents): the conductor does both
  for every record.
"""

from __future__ import annotations

import asyncio
from typing import Any

import faust
from faust.transport.consumer import CONSUMER_FETCHING
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.transport.producer import ProducerBuffer

from streams.config import Settings
from streams.engine import fetches, transactions
from streams.engine.access import refusal
from streams.engine.watchdog import fail_fast, stopping_if_refused

__all__ = [
    "SETTINGS_ATTRIBUTE",
    "Consumer",
    "Producer",
    "RawSchema",
    "Transport",
    "fetch_max_wait_ms",
]


SETTINGS_ATTRIBUTE = "thresholds_settings"
"""The attribute of the Faust app that holds our `Settings` (set by `create_app`)."""


def fetch_max_wait_ms(app: Any) -> int:
    """The app's configured fetch wait in milliseconds (validated at start-up)."""
    settings: Settings = getattr(app, SETTINGS_ATTRIBUTE)
    return settings.fetch_max_wait_ms


class _ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        # aiokafka keeps the setting here until start() builds its fetcher;
        # fail loudly rather than silently ignore it on an aiokafka upgrade
        if not hasattr(consumer, "_fetch_max_wait_ms") or not hasattr(consumer, "_isolation_level"):
            raise RuntimeError("aiokafka changed: cannot set the fetch wait or isolation")
        consumer._fetch_max_wait_ms = fetch_max_wait_ms(self.consumer.app)
        # always read_committed (Faust does only under exactly_once): records of
        # an upstream producer's aborted transactions never happened; without
        # transactions upstream nothing changes
        consumer._isolation_level = "read_committed"
        return consumer

    async def on_start(self) -> None:
        """Start the consumer, and watch it for a refused group from the start."""
        await super().on_start()
        self.add_future(self._watch_group_access())

    async def _watch_group_access(self) -> None:
        # aiokafka keeps a group authorization error for the next poll, which a
        # worker waiting for its first assignment never makes: without this it
        # waited, silent, forever (the worker's own tasks start only once
        # assigned)
        while not self.should_stop:
            coordinator = getattr(self._consumer, "_coordinator", None)
            pending = getattr(coordinator, "_pending_exception", None)
            if pending is not None and refusal(pending):
                fail_fast("joining the consumer group", pending)
            await asyncio.sleep(1.0)

    async def _highwaters(self, partitions: list[Any]) -> Any:
        # Faust under exactly_once answers with the last stable offset of the
        # last fetch response, None for a partition not fetched yet (its
        # recovery then refused its own changelog: "persisted offset is higher
        # than the highwater"). ListOffsets from a read_committed consumer is
        # the last stable offset itself, in both guarantees.
        return await self._ensure_consumer().end_offsets(partitions)

    async def seek_to_committed(self) -> Any:
        """Seek every assigned partition to its committed offset, and one with
        none to its beginning (where `auto_offset_reset` starts it).

        aiokafka leaves a partition with no committed offset where it is, so
        Faust's seek does not undo what the worker fetched of it. Faust counts
        on that seek for records it takes from the consumer and then drops:
        fetched while the flow was stopped (it seeks and returns), or left
        behind when a rebalance began. Such records of a partition nobody had
        committed yet were never read again (found by the broker-fault suite:
        a partition's whole backlog fetched once and never processed).
        """
        return await self.call_thread(self._seek_to_committed)

    async def _seek_to_committed(self) -> Any:
        consumer = self._ensure_consumer()
        committed = await consumer.seek_to_committed()
        # the agents' inputs only: Faust's own topics (changelogs, the leader
        # topic) are never committed and never dropped that way, and a reset is
        # a ListOffsets to the partition's leader, which aiokafka retries on
        # stale metadata until its next refresh (minutes) while it fetches
        # nothing else from that broker
        app = self.consumer.app
        internal = f"{app.conf.id}-__"
        changelogs = app.tables.changelog_topics
        never = [
            tp
            for tp, offset in committed.items()
            if not offset and tp.topic not in changelogs and not tp.topic.startswith(internal)
        ]
        if never:
            await consumer.seek_to_beginning(*never)
        return committed

    def request_rejoin(self) -> None:
        """Make the consumer rejoin its group at its next poll (from any thread)."""
        coordinator = self._ensure_consumer()._coordinator
        self.thread_loop.call_soon_threadsafe(coordinator.request_rejoin)


class _Progress:
    """How far one fetch's hand-off got."""

    __slots__ = ("commit_due", "in_flight", "next", "stopped")

    def __init__(self) -> None:
        self.next = 0  # index of the next record (of the one in flight, if any)
        self.in_flight = False  # handing off records[next]
        self.commit_due = False  # paused before records[next] for a commit
        self.stopped = False  # the flow stopped: the rest are not read


def _by_partition(records: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    """A fetch's records, each partition's together in their order (Faust's
    `getmany` takes the partitions in turns, one record each)."""
    runs: dict[Any, list[tuple[Any, Any]]] = {}
    for record in records:
        runs.setdefault(record[0], []).append(record)
    if len(runs) < 2:
        return records
    return [record for run in runs.values() for record in run]


class Consumer(faust_aiokafka.Consumer):
    """Faust's aiokafka consumer: a configurable fetch wait, batched hand-off."""

    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)

    async def commit(self, topics: Any = None, start_new_transaction: bool = True) -> bool:
        """Faust's commit; under exactly_once only between whole batches
        (`streams.engine.transactions.Gate`)."""
        gate = transactions.gate_of(self.app)
        if not gate.enabled:
            return await super().commit(topics, start_new_transaction)
        # batches that cannot finish (a broker that does not answer, an
        # acknowledgement that will never come), or a commit that cannot (a
        # transaction coordinator that does not answer; the producer's own
        # request timeout is Faust's 20 minutes): the work in flight is dropped
        # as at a dirty revocation and the worker rejoins with fresh producers.
        # A commit never waits forever.
        within = max(30.0, self.app.conf.broker_rebalance_timeout)
        try:
            result: bool = await gate.closed(
                lambda: super(Consumer, self).commit(topics, start_new_transaction), within
            )
        except TimeoutError as exc:
            await transactions.migrated(self, exc)
            return False
        return result

    async def commit_unguarded(self, start_new_transaction: bool = True) -> bool:
        """Faust's commit, for a caller that has closed the gate itself."""
        return await super().commit(None, start_new_transaction)

    async def on_partitions_revoked(self, revoked: Any) -> None:
        """Under exactly_once, end the transactions first (cleanly if possible,
        else by dropping the work in flight), while Faust still knows the acks."""
        if transactions.gate_of(self.app).enabled:
            budget = self.app.conf.broker_rebalance_timeout * 0.5
            await transactions.close_for_revocation(self, budget)
        await super().on_partitions_revoked(revoked)

    async def wait_empty(self) -> None:
        """Faust waits here, at a revocation and at a stop, for every message
        handed to an agent to be acked. Under exactly_once the transactions are
        closed instead (cleanly, or by dropping the work in flight): a dropped
        batch is never acked."""
        gate = transactions.gate_of(self.app)
        if not gate.enabled:
            await super().wait_empty()
        elif not gate.rebalancing:  # a stop: a revocation has closed them already
            budget = self.app.conf.broker_rebalance_timeout * 0.5
            await transactions.close_for_revocation(self, budget)

    def request_rejoin(self) -> None:
        """Rejoin the group at the next poll: this worker's partitions moved."""
        thread: Any = self._thread
        thread.request_rejoin()

    async def _drain_messages(self, fetcher: Any) -> None:
        """Faust's fetch loop (faust-streaming 0.15.3 `Consumer._drain_messages`)
        with two changes; the test of this pin (tests/unit/test_transport.py)
        fails when Faust's loop changes.

        1. The records of one fetch go to the conductor in one task raced
           against a flow suspension, not one task per record. Faust wraps each
           record's hand-off in `Service.wait_first`, which creates and cancels
           four tasks per record: with a no-op agent, 11-14k events/s before,
           32-34k after. The rest is Faust's, record by record: the read
           offset, the gap bookkeeping, the commit every `broker_commit_every`
           acks (outside the race, as Faust has it), and what a suspension (a
           rebalance) drops: the record in flight is counted as read, the
           records after it are not handed off and not counted, as Faust's
           `getmany` stops yielding once the flow is inactive or the
           generation changes.
        2. At the end of a rebalance Faust resumes the input partitions before
           it seeks them to their committed offsets. Input records fetched in
           between are held until the seek is done, and records fetched before
           a seek of their partition are dropped unread (the seek fetches them
           again). Faust hands them off, and the agents then saw offsets go
           missing (faust-streaming #596) and the input guard restarted the
           worker, up to 8 times per restart under load.
        """
        callback = self.callback
        getmany = self.getmany
        consumer_should_stop = self._stopped.is_set
        fetcher_should_stop = fetcher._stopped.is_set
        read_offset = self._read_offset
        set_flag = self.diag.set_flag
        unset_flag = self.diag.unset_flag
        flag_consumer_fetching = CONSUMER_FETCHING
        commit_every = self._commit_every
        acks_enabled_for = self.app.topics.acks_enabled_for
        app = self.app
        sleep = asyncio.sleep
        yield_every = 100
        whole_fetches = fetches.queues(app)
        deliver = fetches.deliverer(app)
        run_records = fetches.RUN_RECORDS

        async def hand_off(
            records: list[tuple[Any, Any]],
            generation: int | None,
            at: _Progress,
            seen: dict[Any, Any],
        ) -> None:
            since_yield = 0
            changelogs = app.tables.changelog_topics
            i, end = at.next, len(records)
            while i < end:
                if not self.flow_active or app.consumer_generation_id != generation:
                    at.stopped = True  # Faust's getmany stops here: the rest are not read
                    return
                tp, message = records[i]
                while (
                    app.rebalancing and tp.topic not in changelogs and read_offset[tp] == seen[tp]
                ):
                    # Faust resumes input partitions before it seeks them to their
                    # committed offsets: hold their records until the seek is done
                    await sleep(0.01)
                r_offset = read_offset[tp]
                if r_offset != seen[tp]:
                    i += 1
                    continue  # sought since this fetch: its records come again from there
                offset = message.offset
                if r_offset is not None and offset < r_offset:
                    self.log.dev("DROPPED MESSAGE ROFF %r", offset)
                    i += 1
                    continue
                if commit_every is not None and self._n_acked >= commit_every:
                    at.next, at.commit_due = i, True
                    return  # the caller commits, outside the race, and resumes here
                backlog = whole_fetches.get(tp.topic)
                if backlog is not None and backlog.full():
                    # the agent's queue is past its mark (streams.engine.fetches):
                    # wait for it, then check everything above again
                    await backlog.wait_taken()
                    continue
                at.next, at.in_flight = i, True
                if backlog is None:  # Faust's way, one record
                    since_yield += 1
                    if since_yield > yield_every:
                        await sleep(0)
                        since_yield = 0
                    if r_offset and offset - r_offset > 1 and acks_enabled_for(message.topic):
                        await self._add_gap(tp, r_offset + 1, offset)
                    await callback(message)
                    read_offset[tp] = seen[tp] = offset
                    at.in_flight = False
                    i += 1
                    continue
                # the whole fetch: this record and the rest of its partition's
                # (`_by_partition` put them together) up to a queue item's
                # size, gaps noted as Faust does
                run_end = i + 1
                limit = min(end, i + run_records)
                while run_end < limit and records[run_end][0] == tp:
                    run_end += 1
                run = [m for _, m in records[i:run_end]]
                if acks_enabled_for(tp.topic):
                    last = r_offset
                    for m in run:
                        if last and m.offset - last > 1:
                            await self._add_gap(tp, last + 1, m.offset)
                        last = m.offset
                await deliver(run, backlog)
                read_offset[tp] = seen[tp] = run[-1].offset
                at.in_flight = False
                i = run_end
                await sleep(0)
            at.next = len(records)

        try:
            while not (consumer_should_stop() or fetcher_should_stop()):
                set_flag(flag_consumer_fetching)
                records: list[tuple[Any, Any]] = []
                generation: int | None = None
                async for record in getmany(timeout=1.0):
                    if generation is None:
                        # the generation Faust's getmany has just read, as it
                        # yields only records of it: read before the fetch,
                        # it was the last one's when the fetch waited for a
                        # rebalance to end, and the new generation's first
                        # records, taken from the consumer, were then dropped
                        # as stale and never read again
                        generation = app.consumer_generation_id
                    records.append(record)
                await self.sleep(0)
                records = _by_partition(records)
                at = _Progress()
                seen = {tp: read_offset[tp] for tp, _ in records}
                while at.next < len(records) and not (at.stopped or self.should_stop):
                    if commit_every is not None and self._n_acked >= commit_every:
                        self._n_acked = 0
                        await self.commit()
                    at.commit_due = False
                    await self.wait_first(
                        hand_off(records, generation, at, seen), self.suspend_flow.wait()
                    )
                    if at.in_flight:
                        # suspended mid-record: Faust counts that record as read
                        tp, message = records[at.next]
                        if read_offset[tp] == seen[tp]:  # unless sought meanwhile
                            read_offset[tp] = seen[tp] = message.offset
                        break
                    if not at.commit_due:
                        break  # handed off, stopped, or suspended between records
                unset_flag(flag_consumer_fetching)
        except self.consumer_stopped_errors:
            if self.transport.app.should_stop:
                self.log.info("Broker stopped consumer, shutting down...")
                return
            raise
        except asyncio.CancelledError:
            if self.transport.app.should_stop:
                self.log.info("Consumer shutting down for user cancel.")
                return
            raise
        except Exception as exc:
            if refusal(exc):  # a missing ACL: one line and a stop, not Faust's crash
                fail_fast("the consumer", exc)
            self.log.exception("Drain messages raised: %r", exc)
            raise
        finally:
            unset_flag(flag_consumer_fetching)


class _Buffer(ProducerBuffer):
    """Faust's producer buffer, its size read without a settings lookup.

    The conductor asks it for every record received (`wait_until_ebb`), and
    the lookup of `producer_threaded` behind `size` was 5 % of the worker's
    time. Only used when the producer is not threaded.
    """

    @property
    def size(self) -> int:
        """Messages waiting to be produced."""
        return self.pending.qsize()


class Producer(faust_aiokafka.Producer):
    """Faust's aiokafka producer: a cheaper buffer size, and whole record
    batches for one partition."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.app.conf.producer_threaded:
            self.buffer = _Buffer(loop=self.loop, beacon=self.beacon)
            self.buffer.app = self.app

    async def create_topic(self, *args: Any, **kwargs: Any) -> None:
        """Faust's, with a refused CREATE said in one line (the worker stops)
        rather than Faust's crash."""
        with stopping_if_refused("creating the worker's internal topics"):
            await super().create_topic(*args, **kwargs)

    async def send_records(
        self,
        topic: str,
        partition: int,
        records: list[tuple[bytes, bytes]],
        sizes: list[int] | None = None,
    ) -> list[asyncio.Future[Any]]:
        """Send `records` (key, value) to one partition in record batches built
        with aiokafka's batch API; return one future per batch (its metadata
        holds the batch's first offset), and append each batch's number of
        records to `sizes` when given.

        `send` makes a future per record and resolves each on the broker's
        answer: with a changelog write per event, a sixth of the worker's time
        (py-spy). Not for transactions, which need Faust's own `send`.
        """
        producer = self._ensure_producer()
        sent = []
        batch = producer.create_batch()
        size = 0
        for key, value in records:
            if batch.append(key=key, value=value, timestamp=None) is None:
                # full: ship it; a fresh batch takes any one record, however large
                sent.append(await producer.send_batch(batch, topic, partition=partition))
                if sizes is not None:
                    sizes.append(size)
                batch, size = producer.create_batch(), 0
                batch.append(key=key, value=value, timestamp=None)
            size += 1
        sent.append(await producer.send_batch(batch, topic, partition=partition))
        if sizes is not None:
            sizes.append(size)
        return sent


class RawSchema(faust.Schema):
    """Keys and values as bytes, made into events without a trip through
    Faust's serializer registry per record (its raw codec returns the same
    bytes, or None)."""

    def compile(self, app: Any, **_: Any) -> Any:
        """The topic's decoder: a message to an event, keys and values as they are."""
        event = app.conf.Event

        async def decode(message: Any, *, propagate: bool = False) -> Any:
            return event(app, message.key, message.value, message.headers, message)

        return decode


class Transport(faust_aiokafka.Transport):
    """Faust's aiokafka transport with the consumer and producer above."""

    Consumer = Consumer
    Producer = Producer
    TransactionManager = transactions.TransactionManager
