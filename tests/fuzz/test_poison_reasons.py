"""Each kind of hostile record gets the dead-letter reason the contract names."""

from __future__ import annotations

import orjson
import pytest

from streams.config import Topics
from streams.core.rules import Rules
from streams.process.processors import Consumed, CrossingProcessor, PolicyProcessor
from tests.fuzz.poison import POISON, Poison

_TOPIC = {
    "follower_changes": "follower-changes",
    "verification_results": "verification-results",
    "threshold_crossings": "threshold-crossings",
}
CASES = [(topic, case) for topic, make in POISON.items() for case in make(b"weibo:a1")]


def _reasons(topic: str, record: Consumed) -> list[str]:
    if topic == "follower_changes":
        out, _ = CrossingProcessor(Rules(), Topics(), lambda key, partition: None).process([record])
    else:
        policy = PolicyProcessor(
            Rules(), Topics(), lambda key, partition: None, lambda _: iter(()), lambda _: None
        )
        out, _, _ = policy.process([record], 0)
    return [orjson.loads(value)["reason"] for _, _, value, _ in out]


@pytest.mark.parametrize(("topic", "case"), CASES, ids=[f"{t}: {c[0]}" for t, c in CASES])
def test_a_hostile_record_is_one_dead_letter_with_its_reason(topic: str, case: Poison) -> None:
    _, key, value, reason = case
    record = Consumed(_TOPIC[topic], 0, 0, key, value)

    reasons = _reasons(topic, record)

    assert reasons == [reason]
