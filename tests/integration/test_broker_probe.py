"""Changelog end markers are used where the broker's latest offset needs them,
as measured at start-up: on Tansu, not on Apache Kafka."""

from __future__ import annotations

import json
import time

from streams.testing.harness import Broker, Harness


def test_the_worker_measures_whether_changelog_writes_need_end_markers(
    kafka_broker: Broker, thresholds_harness: Harness
) -> None:
    worker = thresholds_harness.start_worker()

    deadline = time.monotonic() + 30
    while "changelog end markers" not in (text := worker.log.read_text(errors="replace")):
        assert time.monotonic() < deadline, text[-2000:]
        time.sleep(0.2)

    line = next(x for x in text.splitlines() if "changelog end markers" in x)
    message = json.loads(line)["message"]  # a worker's log is JSON lines when not on a terminal
    if kafka_broker.kind == "tansu":
        assert message.endswith("changelog end markers on"), message
    elif kafka_broker.kind == "apache-kafka":
        assert message.endswith("changelog end markers off"), message
