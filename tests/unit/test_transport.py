"""The consumer subclass follows the Faust loop it was written against."""

from __future__ import annotations

import hashlib
import inspect

from faust.transport import by_url
from faust.transport.consumer import Consumer as FaustConsumer

from streams.engine import transport

# sha256 of faust-streaming 0.15.3's `Consumer._drain_messages` source
FAUST_DRAIN_LOOP = "44a2500309e83c630493f6828af50166ec8d96a0b3e4fb2bab735f704ae93417"


def test_fausts_fetch_loop_is_the_one_the_batched_hand_off_copies() -> None:
    source = inspect.getsource(FaustConsumer._drain_messages)
    assert hashlib.sha256(source.encode()).hexdigest() == FAUST_DRAIN_LOOP, (
        "Faust's Consumer._drain_messages changed: carry the change over to "
        "streams.engine.transport.Consumer._drain_messages, then update this hash"
    )


def test_the_workers_broker_url_resolves_to_the_batched_consumer() -> None:
    # through the `faust.transports` entry point of pyproject.toml, as the app does
    resolved = by_url("shortpoll://localhost:9092")

    assert resolved is transport.Transport
    assert resolved.Consumer._drain_messages is not FaustConsumer._drain_messages
    assert resolved.Producer is transport.Producer
