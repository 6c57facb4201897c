"""A table's store read and written by (key, partition), a whole batch at a time.

Faust reaches a store through `Table` and `Store` one key at a time: a read
is eight Python calls, and with RocksDB, outside Faust's stream iterator
(which our batches bypass, `streams.engine.batches`), a search of every
partition's database by bloom filter; a write is one `put` per key, under a
current event that names the partition. The agents know each key's
partition (the input is partitioned by key), so here a read goes straight
to that partition's database and a batch's writes of one partition go in one
RocksDB `WriteBatch`, as Faust's own `apply_changelog_batch` writes them.

The memory store keeps one dict for every partition: the partition is not
needed to read or write it.

Faust touchpoints (docs/operations.md): rocksdb `Store._db_for_partition`,
`Store.use_rocksdict`; memory `Store.data`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from faust.stores import memory as memory_store

__all__ = ["Read", "reader", "write_batch"]

Read = Callable[[bytes, int], "bytes | None"]
"""The stored value of a key, given the key's partition; None when absent."""


def _rocksdict(store: Any) -> bool:
    # by name: importing Faust's RocksDB store loads RocksDB, which a worker
    # on the memory store does not need at start-up
    kind = type(store)
    return (kind.__module__, kind.__name__) == ("faust.stores.rocksdb", "Store") and bool(
        store.use_rocksdict
    )


def reader(table: Any) -> Read:
    """How to read `table`'s store by (key, partition)."""
    store = table.data
    if type(store) is memory_store.Store:
        get = store.data.get

        def read_memory(key: bytes, partition: int) -> bytes | None:
            return get(key)

        return read_memory
    if _rocksdict(store):
        database = store._db_for_partition  # Faust touchpoint

        def read_rocksdb(key: bytes, partition: int) -> bytes | None:
            value: bytes | None = database(partition).get(key)
            return value

        return read_rocksdb
    return lambda key, partition: table.get(key)


def write_batch(store: Any, partition: int, records: Sequence[tuple[bytes, bytes]]) -> None:
    """Write `records` of one partition to the store: one RocksDB write batch
    to the partition's database, or into the memory store's dict."""
    if type(store) is memory_store.Store:
        store.data.update(records)
        return
    if not _rocksdict(store):
        raise TypeError(f"a table store the worker cannot write in batches: {type(store)!r}")
    from rocksdict import WriteBatch  # an extra: the memory store needs no RocksDB

    batch = WriteBatch(raw_mode=True)
    for key, value in records:
        batch.put(key, value)
    store._db_for_partition(partition).write(batch)  # Faust touchpoint
