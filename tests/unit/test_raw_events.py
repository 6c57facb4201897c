"""Input topics make the events Faust's raw schema makes, and the producer
buffer counts as Faust's does (both without a broker)."""

from __future__ import annotations

import asyncio
from typing import Any

import faust
import pytest
from faust.transport.producer import ProducerBuffer
from faust.types import TP
from faust.types.tuples import Message

from streams.config import Settings
from streams.core.rules import Rules
from streams.engine import transport
from streams.engine.app import create_app


@pytest.fixture
def app() -> faust.App:
    return create_app(Settings.from_env({"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1"}), Rules())


def _message(key: bytes | None, value: bytes | None) -> Message:
    return Message("t", 0, 7, 1.0, 0, [], key, value, None, tp=TP("t", 0))


@pytest.mark.parametrize(
    ("key", "value"), [(b"weibo:a1", b'{"x": 1}'), (None, b"v"), (b"k", None), (b"", b"")]
)
def test_a_raw_topic_makes_the_event_fausts_raw_schema_makes(
    app: faust.App, key: bytes | None, value: bytes | None
) -> None:
    fausts = faust.Schema(
        key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
    ).compile(app)
    ours = transport.RawSchema(
        key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
    ).compile(app)
    message = _message(key, value)

    want, got = (asyncio.run(decode(message)) for decode in (fausts, ours))  # type: ignore[arg-type]  # a coroutine, typed as Awaitable

    assert (type(got), got.key, got.value, got.message) == (
        type(want),
        want.key,
        want.value,
        want.message,
    )


def test_the_producer_buffer_counts_what_waits_as_fausts_does(app: faust.App) -> None:
    buffer: Any = app.producer.buffer
    assert isinstance(app.producer, transport.Producer)
    assert isinstance(buffer, transport._Buffer)

    for n in range(3):
        buffer.pending.put_nowait(object())
        assert buffer.size == ProducerBuffer.size.fget(buffer) == n + 1  # type: ignore[attr-defined]
