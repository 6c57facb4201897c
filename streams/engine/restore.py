"""Table recovery that reads the changelogs in bulk (Faust's `TableManager` setting).

Faust restores a table by resuming its changelog partitions in the worker's
own consumer and moving every record through the conductor, a queue and its
recovery loop, one `asyncio.wait_for` task each: ~70 µs a record, 14,600
records/s on the benchmark. Before that loop starts, `Recovery` here reads
each active changelog partition from where Faust would start to the
highwater Faust has just measured, with a consumer of its own (no group,
whole fetches, no per-record task), and applies the records through the
table's own `apply_changelog_batch`, so the store does what it does in
Faust's loop (the memory store's key partitions, RocksDB's persisted
offsets). It then moves Faust's start offsets past what it applied: Faust
seeks there and reads whatever is left, usually nothing, its usual way.

Only tables whose changelog keys and values are raw bytes (every table of
this app) and with no `on_changelog_event` callback are read this way;
others, and standby partitions, are left to Faust. If a rebalance starts,
the worker stops, or Faust's `broker_request_timeout` for this step runs
out, the read is cancelled between two applied fetches and Faust carries on
from the last record applied.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any

import aiokafka
from aiokafka import TopicPartition
from faust.tables.manager import TableManager as FaustTableManager
from faust.tables.recovery import Recovery as FaustRecovery
from faust.transport.drivers import aiokafka as faust_aiokafka

__all__ = ["Recovery", "TableManager", "read_to_highwaters", "restorable"]

log = logging.getLogger("streams.engine.restore")

STALL_SECONDS = 5.0
"""Give the rest to Faust after this long without a record from the broker."""


class _Change:
    """One changelog record, as much of a Faust event as a store's
    `apply_changelog_batch` reads (`event.key`, `event.value`,
    `event.message.{key,value,tp,partition,offset}`)."""

    __slots__ = ("key", "offset", "partition", "tp", "value")

    def __init__(self, tp: Any, record: Any) -> None:
        self.tp = tp
        self.partition = record.partition
        self.offset = record.offset
        self.key = record.key
        self.value = record.value

    @property
    def message(self) -> _Change:
        return self


def restorable(table: Any) -> bool:
    """Whether `table`'s changelog can be applied without Faust's per-record path."""
    schema = table.changelog_topic.schema
    serializers = (schema.key_serializer, schema.value_serializer) if schema else (None, None)
    return serializers == ("raw", "raw") and table._on_changelog_event is None


class Recovery(FaustRecovery):
    """Faust's recovery, with the active changelogs read in bulk first."""

    async def _build_offsets(self, consumer: Any, tps: Any, destination: Any, title: str) -> None:
        await super()._build_offsets(consumer, tps, destination, title)
        if title == "active":
            try:
                await self._restore(tps, destination)
            except Exception:
                # what was applied stays applied, and Faust reads from there
                log.warning("Bulk changelog read failed; Faust reads the rest", exc_info=True)

    async def _restore(self, tps: Iterable[Any], offsets: MutableMapping[Any, int]) -> None:
        highwaters = self.active_highwaters
        todo = {
            TopicPartition(tp.topic, tp.partition): highwaters[tp]
            for tp in tps
            if restorable(self.tp_to_table[tp])
            and highwaters.get(tp) is not None
            and offsets[tp] < highwaters[tp]
        }
        if not todo:
            return
        start = {tp: offsets[tp] for tp in todo}
        log.info(
            "Reading %d changelog partitions in bulk (up to %d records)",
            len(todo),
            sum(hw - start[tp] for tp, hw in todo.items()),
        )
        started = time.monotonic()
        reader = self._reader()
        try:
            await reader.start()
            # aiokafka's stop() raises CancelledError if its no-group task never ran
            await asyncio.sleep(0)
            reader.assign(list(todo))
            for tp in todo:
                reader.seek(tp, offsets[tp] + 1)
            await read_to_highwaters(reader, todo, offsets, self.tp_to_table)
        finally:
            await reader.stop()
            seconds = time.monotonic() - started
            read = sum(offsets[tp] - at for tp, at in start.items())
            log.info(
                "Read changelogs %d offsets further in %.2f s (%.0f/s); %s",
                read,
                seconds,
                read / max(seconds, 1e-6),
                "Faust reads the rest" if todo else "all partitions at their highwater",
            )

    def _reader(self) -> aiokafka.AIOKafkaConsumer:
        return new_reader(self.app, "restore")


def new_reader(app: Any, purpose: str) -> aiokafka.AIOKafkaConsumer:
    """A consumer outside any group, with the worker's connection settings and
    isolation level (read_committed, see streams.engine.transport)."""
    conf = app.conf
    transport: Any = app.transport
    return aiokafka.AIOKafkaConsumer(
        bootstrap_servers=faust_aiokafka.server_list(transport.url, transport.default_port),
        client_id=f"{conf.broker_client_id}-{purpose}",
        group_id=None,
        enable_auto_commit=False,
        # as the worker's own consumer: a start offset gone from the log
        # means the oldest record still there
        auto_offset_reset="earliest",
        isolation_level="read_committed",  # as the worker's own consumer
        max_partition_fetch_bytes=conf.consumer_max_fetch_size,
        fetch_max_wait_ms=100,
        request_timeout_ms=int(conf.broker_request_timeout * 1000.0),
        check_crcs=conf.broker_check_crcs,
        **faust_aiokafka.credentials_to_aiokafka_auth(conf.broker_credentials, conf.ssl_context),
    )


async def read_to_highwaters(
    reader: aiokafka.AIOKafkaConsumer,
    todo: dict[Any, int],
    offsets: MutableMapping[Any, int],
    tables: Mapping[Any, Any],
    max_records: int = 20_000,
) -> None:
    """Apply the records of each partition in `todo` up to its highwater to its
    table, moving `offsets` along; drop a partition from `todo` once read to
    there."""
    quiet_since = time.monotonic()
    while todo:
        fetched = await reader.getmany(*todo, timeout_ms=200, max_records=max_records)
        for tp, records in fetched.items():
            highwater = todo.get(tp)
            if highwater is None:
                continue
            changes = [_Change(tp, r) for r in records if r.offset <= highwater]
            if changes:
                tables[tp].apply_changelog_batch(changes)
                # no await between applying and moving the start: a cancel leaves both
                offsets[tp] = changes[-1].offset
        for tp in list(todo):
            if await reader.position(tp) > todo[tp]:
                # past the highwater (transaction markers hold offsets with no record)
                offsets[tp] = todo.pop(tp)
                reader.pause(tp)
        if fetched:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since > STALL_SECONDS:
            log.warning("No changelog records for %.0f s; Faust reads the rest", STALL_SECONDS)
            break


class TableManager(FaustTableManager):
    """Faust's table manager with the bulk-reading `Recovery` above."""

    @property
    def recovery(self) -> Recovery:
        """Recovery service used by this table manager."""
        if self._recovery is None:
            self._recovery = Recovery(self.app, self, beacon=self.beacon, loop=self.loop)
        return self._recovery  # type: ignore[return-value]
