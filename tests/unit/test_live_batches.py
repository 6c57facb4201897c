"""The live batch processors, without a broker: what a batch sends and what it saves."""

from __future__ import annotations

from collections.abc import Iterator

import orjson
from hypothesis import given

from streams import codec
from streams.config import Topics
from streams.core.crossings import AccountState, FollowerCountChanged, step
from streams.core.policy import PolicyState
from streams.core.rules import PlatformRules, Rules
from streams.process.processors import TICK, Consumed, CrossingProcessor, PolicyProcessor
from streams.testing.logs import follower_change, verification_result
from tests.strategies import account_logs

TOPICS = Topics()


def change(offset: int, followers: int, account: str = "a1", day: int = 1) -> Consumed:
    value = follower_change(account, followers, f"2023-11-{day:02d}T00:00:00Z")
    return Consumed(
        TOPICS.follower_changes, 0, offset, f"weibo:{account}".encode(), orjson.dumps(value)
    )


def test_a_batch_sends_crossings_and_saves_one_state_per_account() -> None:
    processor = CrossingProcessor(Rules(), TOPICS, lambda key, partition: None)

    out, writes = processor.process(
        [change(0, 600_000), change(1, 100, day=2), change(2, 10, "b2")]
    )

    assert [orjson.loads(v)["direction"] for _, _, v, _ in out] == ["up", "down"]
    assert set(writes) == {b"weibo:a1", b"weibo:b2"}
    assert codec.decode_account_state(writes[b"weibo:a1"][1]).offset == 1


def test_a_redelivered_record_is_skipped_against_the_saved_state() -> None:
    first = CrossingProcessor(Rules(), TOPICS, lambda key, partition: None)
    _, writes = first.process([change(0, 600_000), change(1, 100, day=2)])
    saved = {k: v for k, (_, v) in writes.items()}
    restarted = CrossingProcessor(Rules(), TOPICS, lambda key, _: saved.get(key))

    out, _ = restarted.process([change(1, 100, day=2), change(2, 700_000, day=3)])

    assert restarted.counters.redelivered_total == 1
    assert [orjson.loads(v)["threshold"] for _, _, v, _ in out] == [500_000]


def test_a_batch_dead_letters_a_key_mismatch_with_its_partition_and_offset() -> None:
    processor = CrossingProcessor(Rules(), TOPICS, lambda key, partition: None)
    record = Consumed(TOPICS.follower_changes, 3, 41, b"weibo:other", change(0, 1).value)

    out, writes = processor.process([record])

    letter = orjson.loads(out[0][2])
    assert (out[0][0], letter["reason"], letter["partition"], letter["offset"]) == (
        "follower-changes-dlq",
        "key_mismatch",
        3,
        41,
    )
    assert writes == {}


def policy(saved: dict[bytes, bytes]) -> PolicyProcessor:
    return PolicyProcessor(
        Rules(),
        TOPICS,
        lambda key, _: saved.get(key),
        lambda p: iter(saved.items()),
        lambda p: None,
    )


def crossing_record(offset: int) -> Consumed:
    _, crossings, _ = step(None, codec_event(), PlatformRules())
    value = codec.dumps(codec.encode_crossing(crossings[0]))
    return Consumed(TOPICS.threshold_crossings, 0, offset, b"weibo:a1", value)


def codec_event() -> FollowerCountChanged:
    raw = orjson.dumps(follower_change("a1", 600_000, "2023-11-01T00:00:00Z"))
    return codec.decode_follower_change(codec.parse_json(raw), raw)


def test_a_redelivered_crossing_does_not_run_the_policy_twice() -> None:
    first = policy({})
    out, writes, _ = first.process([crossing_record(5)], now=1_700_000_000_000_000)
    saved = {k: v for k, (_, v) in writes.items()}

    again, _, _ = policy(saved).process([crossing_record(5)], now=1_700_000_000_000_000)

    assert [orjson.loads(v)["type"] for _, _, v, _ in out] == ["VerificationRequested"]
    assert again == []


def test_a_result_with_personal_data_is_dead_lettered_without_it() -> None:
    value = {**verification_result("a1"), "id_number": "110101199003074258"}
    record = Consumed(TOPICS.verification_results, 0, 0, b"weibo:a1", orjson.dumps(value))

    out, writes, _ = policy({}).process([record], now=0)

    assert out[0][0] == "verification-results-dlq"
    assert b"110101199003074258" not in out[0][2]
    assert writes == {}


@given(account_logs())
def test_account_state_survives_a_serialisation_round_trip(events: list[object]) -> None:
    state: AccountState | None = None
    for e in events:
        state, _, _ = step(state, e, PlatformRules(), 7)  # type: ignore[arg-type]

    assert state is not None
    assert codec.decode_account_state(codec.encode_account_state(state)) == state


def test_account_state_written_as_json_by_earlier_versions_still_decodes() -> None:
    written_before = b"[612000,4,1698796800000000,17,[500000],[500000,1,0]]"

    assert codec.decode_account_state(written_before) == AccountState(
        612_000, 4, 1_698_796_800_000_000, 17, (500_000,), ((500_000, 1, 0),)
    )


def test_policy_state_survives_a_serialisation_round_trip() -> None:
    state = PolicyState(above=(500_000,), verified=True, restricted=True, counts=(1, 2, 3, 4))

    assert codec.decode_policy_state(codec.encode_policy_state(state, 3, (9, 10))) == (
        state,
        3,
        (9, 10),
    )


class PolicyTable:
    """A policy table the processor reads and scans; counts the scans."""

    def __init__(self) -> None:
        self.saved: dict[bytes, bytes] = {}
        self.scans = 0

    def scan(self, partition: int) -> Iterator[tuple[bytes, bytes]]:
        self.scans += 1
        return iter(list(self.saved.items()))

    def processor(self) -> PolicyProcessor:
        return PolicyProcessor(
            Rules(), TOPICS, lambda key, _: self.saved.get(key), self.scan, lambda p: None
        )

    def run(self, processor: PolicyProcessor, records: list[Consumed], now: int = 0) -> list[str]:
        out, writes, _ = processor.process(records, now)
        self.saved.update({k: v for k, (_, v) in writes.items()})
        return [orjson.loads(v)["type"] for _, _, v, _ in out]

    def due_at(self) -> int:
        state, _, _ = codec.decode_policy_state(self.saved[b"weibo:a1"])
        assert state.request is not None
        return state.request.due_at


def tick(offset: int, at: int) -> Consumed:
    return Consumed(TOPICS.policy_ticks, 0, offset, TICK, str(at).encode())


def test_a_tick_before_the_partitions_earliest_deadline_does_not_scan_it_again() -> None:
    table = PolicyTable()
    processor = table.processor()
    table.run(processor, [crossing_record(0)], now=1)
    due = table.due_at()

    table.run(processor, [tick(0, due - 2)])
    table.run(processor, [tick(1, due - 1)])
    fired = table.run(processor, [tick(2, due)])

    assert table.scans == 2
    assert fired == ["TrafficRestricted"]


def test_a_deadline_written_after_the_partition_was_scanned_still_fires() -> None:
    table = PolicyTable()
    processor = table.processor()
    table.run(processor, [tick(0, 1)])  # scanned with nothing open
    table.run(processor, [crossing_record(0)], now=2)

    assert table.run(processor, [tick(1, table.due_at())]) == ["TrafficRestricted"]


def test_a_deadline_fires_once_even_though_later_ticks_find_it_passed() -> None:
    table = PolicyTable()
    processor = table.processor()
    table.run(processor, [crossing_record(0)], now=1)
    due = table.due_at()

    fired = table.run(processor, [tick(0, due), tick(1, due + 1)])
    later = table.run(processor, [tick(2, due + 2)])

    assert (fired, later) == (["TrafficRestricted"], [])


def test_newly_assigned_partitions_are_scanned_at_their_next_tick() -> None:
    table = PolicyTable()
    processor = table.processor()
    table.run(processor, [tick(0, 1)])  # scanned with nothing open
    table.run(table.processor(), [crossing_record(0)], now=2)  # another worker's write

    processor.forget_deadlines()

    assert table.run(processor, [tick(1, table.due_at())]) == ["TrafficRestricted"]
