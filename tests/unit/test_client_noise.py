"""aiokafka's reconnect complaints at WARNING, once per broker per interval
(streams.engine.logs.ClientNoise): SPEC.md, "Guarantees under faults"."""

from __future__ import annotations

import logging

from streams.engine.logs import RECONNECT_INTERVAL, ClientNoise


def complaint(node: str) -> logging.LogRecord:
    return logging.LogRecord(
        "aiokafka.conn",
        logging.ERROR,
        "conn.py",
        1,
        "Unable connect to %r: %r",
        (node, "refused"),
        None,
    )


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_reconnect_complaint_is_logged_at_warning() -> None:
    noise = ClientNoise(Clock())
    record = complaint("node-1")

    assert noise.filter(record)
    assert record.levelname == "WARNING"


def test_the_same_complaint_about_the_same_broker_is_logged_once_per_interval() -> None:
    clock = Clock()
    noise = ClientNoise(clock)

    kept = [noise.filter(complaint("node-1")) for _ in range(100)]
    clock.now = RECONNECT_INTERVAL
    again = noise.filter(complaint("node-1"))

    assert kept.count(True) == 1
    assert again


def test_each_broker_gets_its_own_line() -> None:
    noise = ClientNoise(Clock())

    assert [noise.filter(complaint(n)) for n in ("node-1", "node-2", "node-1")] == [
        True,
        True,
        False,
    ]


def test_information_passes_untouched() -> None:
    noise = ClientNoise(Clock())
    record = logging.LogRecord("aiokafka", logging.INFO, "x.py", 1, "joined", (), None)

    assert noise.filter(record)
    assert noise.filter(record)
    assert record.levelname == "INFO"
