"""The live batch processors and replay are the same event path: a log run
through both (live ticks at event time) gives the same records, in order."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from streams.config import Topics, load_rules
from streams.core.rules import Rules
from streams.core.timestamps import parse_rfc3339
from streams.process.processors import TICK, Consumed, CrossingProcessor, PolicyProcessor
from streams.process.replay import Replayer
from streams.testing.logs import threshold_walk

GOLDEN = Path(__file__).parent.parent / "golden"
TOPICS = Topics()


class LiveOnEventTime:
    """Both agents' processors over in-memory tables, fed as the worker feeds
    them, with a tick at each input's time before the input (as replay fires
    what is due before an input)."""

    def __init__(self, rules: Rules) -> None:
        self.account: dict[bytes, bytes] = {}
        self.policy: dict[bytes, bytes] = {}
        self.clock: int | None = None
        self.offsets = {t: 0 for t in (TOPICS.follower_changes, TOPICS.threshold_crossings)}
        self.crossing = CrossingProcessor(rules, TOPICS, lambda key, _: self.account.get(key))
        self.policy_processor = PolicyProcessor(
            rules,
            TOPICS,
            lambda key, _: self.policy.get(key),
            lambda _: iter(list(self.policy.items())),
            lambda _: self.clock,
        )

    def _consumed(self, topic: str, key: bytes | None, value: bytes) -> Consumed:
        offset = self.offsets.get(topic, 0)
        self.offsets[topic] = offset + 1
        return Consumed(topic, 0, offset, key, value)

    def _policy(self, records: list[Consumed], now: int) -> list[tuple[str, Any]]:
        out, writes, ticks = self.policy_processor.process(records, now)
        self.policy.update({k: v for k, (_, v) in writes.items()})
        if ticks:
            self.clock = max(ticks.values())
        return [(topic, orjson.loads(value)) for topic, _, value, _ in out]

    def feed(self, line: bytes) -> list[tuple[str, Any]]:
        value = orjson.loads(line)
        emitted: list[tuple[str, Any]] = []
        now = parse_rfc3339(value.get("decided_at") or value["occurred_at"])
        if self.clock is None or now > self.clock:
            tick = self._consumed(TOPICS.policy_ticks, TICK, str(now).encode())
            emitted += self._policy([tick], now)
        now = max(now, self.clock or now)  # the clock never goes backwards
        key = f"{value['platform']}:{value['account_id']}".encode()
        if value.get("type") == "VerificationResult":
            return emitted + self._policy(
                [self._consumed(TOPICS.verification_results, key, line)], now
            )
        out, writes = self.crossing.process([self._consumed(TOPICS.follower_changes, key, line)])
        self.account.update({k: v for k, (_, v) in writes.items()})
        # the crossing agent writes every crossing of the input, then the
        # policy agent reads them off their topic
        emitted += [(topic, orjson.loads(crossing)) for topic, _, crossing, _ in out]
        crossings = [
            self._consumed(topic, out_key, crossing)
            for topic, out_key, crossing, _ in out
            if topic == TOPICS.threshold_crossings
        ]
        return emitted + self._policy(crossings, now)


@pytest.mark.parametrize("config", [None, GOLDEN / "sample.toml"])
def test_a_log_gives_the_same_records_live_on_event_time_and_in_replay(config: Path | None) -> None:
    rules = load_rules(config)
    lines = threshold_walk(4_000, 40, seed=5, late_days=1)
    replayer = Replayer(rules, TOPICS)
    live = LiveOnEventTime(rules)

    replayed = [(t, v) for line in lines for t, _, v in replayer.feed(line)]
    lived = [record for line in lines for record in live.feed(line)]

    types = {v["type"] for _, v in replayed}
    assert {"ThresholdCrossed", "VerificationRequested", "TrafficRestricted"} <= types
    assert lived == replayed
