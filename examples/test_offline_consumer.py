"""A downstream team tests its consumer against a replayed log: no broker needed."""

from __future__ import annotations

from pathlib import Path

from examples.notifier import Notifier
from streams.testing import assert_matches_golden, follower_change, replay

HERE = Path(__file__).parent


def test_the_notifier_announces_each_crossing_once() -> None:
    records = replay(
        [
            follower_change("a1", 480_000, "2023-11-01T00:00:00Z"),
            follower_change("a1", 520_000, "2023-11-02T00:00:00Z"),
            follower_change("a1", 495_000, "2023-11-03T00:00:00Z"),  # inside the hysteresis band
            follower_change("a1", 2_000_000, "2023-11-04T00:00:00Z"),
        ]
    )
    notifier = Notifier()

    for r in records:
        if r.topic == "threshold-crossings":
            notifier.handle(r.as_json()["value"])
            notifier.handle(r.as_json()["value"])  # a redelivery changes nothing

    assert notifier.messages == [
        "weibo/a1 passed 500,000 followers",
        "weibo/a1 passed 1,000,000 followers",
    ]


def test_a_replayed_log_matches_its_golden_records() -> None:
    records = replay(HERE / "data" / "log.jsonl", config={"hysteresis": 0})

    assert_matches_golden(records, HERE / "data" / "expected.jsonl")
