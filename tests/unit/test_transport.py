"""The worker's broker URL resolves to the batched consumer and producer (the
Faust loop it copies is guarded in test_library_internals)."""

from __future__ import annotations

from faust.transport import by_url
from faust.transport.consumer import Consumer as FaustConsumer

from streams.engine import transport


def test_the_workers_broker_url_resolves_to_the_batched_consumer() -> None:
    # through the `faust.transports` entry point of pyproject.toml, as the app does
    resolved = by_url("shortpoll://localhost:9092")

    assert resolved is transport.Transport
    assert resolved.Consumer._drain_messages is not FaustConsumer._drain_messages
    assert resolved.Producer is transport.Producer
