"""Properties of the crossing state machine and of replay."""

from __future__ import annotations

import io

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.codec import encode_crossing
from streams.core.crossings import (
    AccountState,
    FollowerCountChanged,
    Outcome,
    ThresholdCrossed,
    step,
)
from streams.core.rules import PlatformRules, Rules
from streams.core.timestamps import format_utc
from streams.process.replay import Replayer, replay_lines
from tests.strategies import account_logs, platform_rules


def run(
    events: list[FollowerCountChanged], rules: PlatformRules
) -> tuple[AccountState | None, list[ThresholdCrossed]]:
    state: AccountState | None = None
    out: list[ThresholdCrossed] = []
    for e in events:
        state, crossings, _ = step(state, e, rules)
        out.extend(crossings)
    return state, out


@given(account_logs(), platform_rules())
def test_every_event_delivered_twice_gives_the_same_crossings(
    events: list[FollowerCountChanged], rules: PlatformRules
) -> None:
    twice = [e for e in events for _ in range(2)]

    _, once_out = run(events, rules)
    _, twice_out = run(twice, rules)

    # an equal occurred_at without sequence is applied again, but re-applying
    # the same count never crosses anything
    assert twice_out == once_out


@given(account_logs(), platform_rules())
def test_stale_events_change_nothing(
    events: list[FollowerCountChanged], rules: PlatformRules
) -> None:
    state: AccountState | None = None
    for e in events:
        new_state, crossings, outcome = step(state, e, rules)
        if outcome is Outcome.STALE:
            assert (new_state, crossings) == (state, [])
        state = new_state


@given(account_logs(), platform_rules())
def test_up_and_down_alternate_per_threshold_starting_with_up(
    events: list[FollowerCountChanged], rules: PlatformRules
) -> None:
    _, crossings = run(events, rules)

    for threshold in rules.thresholds:
        directions = [c.direction for c in crossings if c.threshold == threshold]
        assert directions == ["up", "down"] * (len(directions) // 2) + ["up"] * (
            len(directions) % 2
        )


@given(account_logs(), platform_rules())
def test_crossing_ids_never_repeat(
    events: list[FollowerCountChanged], rules: PlatformRules
) -> None:
    _, crossings = run(events, rules)

    ids = [c.event_id for c in crossings]
    assert len(ids) == len(set(ids))


@given(account_logs(), platform_rules())
def test_the_above_set_is_exactly_the_thresholds_with_more_ups_than_downs(
    events: list[FollowerCountChanged], rules: PlatformRules
) -> None:
    state, _ = run(events, rules)

    if state is not None:
        assert state.above == tuple(t for t, up, down in state.counts if up > down)


def as_line(e: FollowerCountChanged) -> bytes:
    return orjson.dumps(
        {
            "event_id": e.event_id,
            "platform": e.platform,
            "account_id": e.account_id,
            "followers": e.followers,
            "occurred_at": format_utc(e.occurred_at),
            "sequence": e.sequence,
        }
    )


@settings(max_examples=50)
@given(account_logs(), st.integers(1, 10))
def test_replaying_in_chunks_equals_replaying_at_once(
    events: list[FollowerCountChanged], chunk: int
) -> None:
    lines = [as_line(e) for e in events]
    whole, pieces = io.BytesIO(), io.BytesIO()

    replay_lines(lines, whole.write, Replayer(Rules()))
    replayer = Replayer(Rules())
    for i in range(0, len(lines), chunk):
        replay_lines(lines[i : i + chunk], pieces.write, replayer)

    assert whole.getvalue() == pieces.getvalue()


@given(account_logs(), platform_rules())
def test_encoded_crossings_are_valid_contract_records(
    events: list[FollowerCountChanged], rules: PlatformRules
) -> None:
    from schemas import ThresholdCrossed as Model

    _, crossings = run(events, rules)

    for c in crossings:
        value = encode_crossing(c)
        assert Model.model_validate(value).model_dump(mode="json") == value
