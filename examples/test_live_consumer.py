"""The same consumer, live: a worker on the embedded broker (or your Kafka)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from examples.notifier import Notifier
from streams.testing import follower_change
from streams.testing.harness import Harness, Worker

pytestmark = pytest.mark.integration


def test_the_notifier_reads_live_crossings(
    thresholds_worker: Worker,
    thresholds_harness: Harness,
    produce_log: Callable[[Any], int],
    consume_topic: Callable[..., Any],
) -> None:
    produce_log(
        [
            follower_change("b1", 999_999, "2023-11-01T00:00:00Z", platform="douyin"),
            follower_change("b1", 1_000_000, "2023-11-01T00:01:00Z", platform="douyin"),
        ]
    )
    notifier = Notifier()

    for record in consume_topic(thresholds_harness.topics.threshold_crossings):
        notifier.handle(record.value)

    assert notifier.messages == [
        "douyin/b1 passed 500,000 followers",
        "douyin/b1 passed 1,000,000 followers",
    ]
