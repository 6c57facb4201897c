"""A table's store read and written by (key, partition), on Faust's own stores."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from streams.config import Settings
from streams.core.rules import Rules
from streams.engine import stores
from streams.engine.app import create_app


def table_on(store: str, data_dir: Path) -> Any:
    settings = Settings.from_env(
        {
            "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1",
            "THRESHOLDS_APP_ID": "app",
            "THRESHOLDS_STORE": store,
            "THRESHOLDS_DATA_DIR": str(data_dir),
        }
    )
    return create_app(settings, Rules()).tables["account-state"]


@pytest.fixture(params=["memory://", "rocksdb://"])
def table(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    return table_on(request.param, tmp_path)


def test_a_key_written_in_a_batch_is_read_back_by_its_partition(table: Any) -> None:
    stores.write_batch(table.data, 3, [(b"weibo:a", b"1"), (b"weibo:b", b"2")])

    read = stores.reader(table)

    assert (read(b"weibo:a", 3), read(b"weibo:b", 3), read(b"weibo:c", 3)) == (b"1", b"2", None)


def test_a_rocksdb_batch_goes_to_its_partitions_database_where_faust_finds_it(
    tmp_path: Path,
) -> None:
    table = table_on("rocksdb://", tmp_path)

    stores.write_batch(table.data, 5, [(b"weibo:a", b"1")])

    assert stores.reader(table)(b"weibo:a", 4) is None  # another partition's database
    assert table.get(b"weibo:a") == b"1"  # Faust's own read, as the web lookup does
    assert table.data._db_for_partition(5).get(b"weibo:a") == b"1"


def test_a_batch_written_to_the_memory_store_is_what_fausts_table_reads(tmp_path: Path) -> None:
    table = table_on("memory://", tmp_path)

    stores.write_batch(table.data, 0, [(b"weibo:a", b"1")])

    assert table.get(b"weibo:a") == b"1"
