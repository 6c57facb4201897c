"""The crossing rule, one behaviour of the spec per test."""

from __future__ import annotations

import uuid

from streams.core.crossings import (
    AccountState,
    FollowerCountChanged,
    Outcome,
    ThresholdCrossed,
    step,
)
from streams.core.rules import PlatformRules

DEFAULT = PlatformRules()
T0 = 1_700_000_000_000_000
SECOND = 1_000_000


def event(
    followers: int, at: int = 0, sequence: int | None = None, event_id: str = "e"
) -> FollowerCountChanged:
    return FollowerCountChanged(event_id, "weibo", "a1", followers, T0 + at * SECOND, sequence)


def run(
    *events: FollowerCountChanged, rules: PlatformRules = DEFAULT
) -> tuple[AccountState | None, list[ThresholdCrossed]]:
    state: AccountState | None = None
    out: list[ThresholdCrossed] = []
    for e in events:
        state, crossings, _ = step(state, e, rules)
        out.extend(crossings)
    return state, out


def summary(crossings: list[ThresholdCrossed]) -> list[tuple[int, str]]:
    return [(c.threshold, c.direction) for c in crossings]


def test_exactly_500000_crosses_up() -> None:
    _, crossings = run(event(500_000))

    assert summary(crossings) == [(500_000, "up")]


def test_499999_does_not_cross() -> None:
    _, crossings = run(event(499_999))

    assert crossings == []


def test_first_event_at_2m_emits_500k_then_1m_with_no_previous_followers() -> None:
    _, crossings = run(event(2_000_000))

    assert summary(crossings) == [(500_000, "up"), (1_000_000, "up")]
    assert [c.previous_followers for c in crossings] == [None, None]


def test_489999_releases_500k_with_default_hysteresis() -> None:
    _, crossings = run(event(500_000, 0), event(489_999, 1))

    assert summary(crossings) == [(500_000, "up"), (500_000, "down")]


def test_490000_stays_above_500k_with_default_hysteresis() -> None:
    _, crossings = run(event(500_000, 0), event(490_000, 1))

    assert summary(crossings) == [(500_000, "up")]


def test_979999_releases_1m_but_not_500k() -> None:
    _, crossings = run(event(1_000_000, 0), event(979_999, 1))

    assert summary(crossings)[-1:] == [(1_000_000, "down")]


def test_a_fall_over_several_thresholds_emits_downs_in_descending_order() -> None:
    _, crossings = run(event(2_000_000, 0), event(10, 1))

    assert summary(crossings)[2:] == [(1_000_000, "down"), (500_000, "down")]


def test_zero_hysteresis_releases_just_below_the_threshold() -> None:
    rules = PlatformRules(hysteresis=0)

    _, crossings = run(event(500_000, 0), event(499_999, 1), rules=rules)

    assert summary(crossings) == [(500_000, "up"), (500_000, "down")]


def test_hysteresis_is_exact_integer_arithmetic() -> None:
    # 0.0469 of 500000 is 23450: released below 476550, not at it
    rules = PlatformRules(hysteresis=469)

    _, at_edge = run(event(500_000, 0), event(476_550, 1), rules=rules)
    _, below = run(event(500_000, 0), event(476_549, 1), rules=rules)

    assert summary(at_edge) == [(500_000, "up")]
    assert summary(below) == [(500_000, "up"), (500_000, "down")]


def test_a_lower_sequence_is_stale_and_changes_nothing() -> None:
    state, _ = run(event(600_000, 0, sequence=5))

    new_state, crossings, outcome = step(state, event(100, 1, sequence=4), DEFAULT)

    assert outcome is Outcome.STALE
    assert crossings == []
    assert new_state == state


def test_an_equal_sequence_is_stale() -> None:
    state, _ = run(event(600_000, 0, sequence=5))

    _, _, outcome = step(state, event(100, 1, sequence=5), DEFAULT)

    assert outcome is Outcome.STALE


def test_an_earlier_occurred_at_is_stale_when_sequences_are_missing() -> None:
    state, _ = run(event(600_000, 10))

    _, crossings, outcome = step(state, event(100, 9), DEFAULT)

    assert outcome is Outcome.STALE
    assert crossings == []


def test_an_equal_occurred_at_is_not_stale() -> None:
    state, _ = run(event(600_000, 10))

    _, crossings, outcome = step(state, event(100, 10), DEFAULT)

    assert outcome is Outcome.APPLIED
    assert summary(crossings) == [(500_000, "down")]


def test_sequence_wins_over_occurred_at_when_both_have_one() -> None:
    state, _ = run(event(600_000, 10, sequence=1))

    _, crossings, outcome = step(state, event(100, 5, sequence=2), DEFAULT)

    assert outcome is Outcome.APPLIED
    assert summary(crossings) == [(500_000, "down")]


def test_an_event_without_sequence_keeps_the_stored_sequence() -> None:
    state, _ = run(event(600_000, 0, sequence=7), event(610_000, 1))

    assert state is not None
    assert state.sequence == 7


def test_occurred_at_is_stored_as_given_even_when_earlier_with_a_newer_sequence() -> None:
    state, _ = run(event(600_000, 10, sequence=1), event(610_000, 5, sequence=2))

    assert state is not None
    assert state.occurred_at == T0 + 5 * SECOND


def test_a_record_at_or_below_the_stored_offset_is_a_redelivery() -> None:
    state, _, _ = step(None, event(600_000, 0), DEFAULT, offset=41)

    _, crossings, outcome = step(state, event(100, 0), DEFAULT, offset=41)

    assert outcome is Outcome.REDELIVERED
    assert crossings == []


def test_the_redelivery_check_comes_before_the_stale_check() -> None:
    state, _, _ = step(None, event(600_000, 5), DEFAULT, offset=41)

    _, _, outcome = step(state, event(100, 1), DEFAULT, offset=40)

    assert outcome is Outcome.REDELIVERED


def test_crossing_ids_are_uuid5_of_the_spec_name_with_per_direction_ordinals() -> None:
    _, crossings = run(event(500_000, 0), event(1, 1), event(500_000, 2))

    names = [
        "threshold-crossed:weibo/a1/500000/up/1",
        "threshold-crossed:weibo/a1/500000/down/1",
        "threshold-crossed:weibo/a1/500000/up/2",
    ]
    assert [c.event_id for c in crossings] == [
        str(uuid.uuid5(uuid.NAMESPACE_URL, n)) for n in names
    ]


def test_a_crossing_carries_the_source_event_and_previous_followers() -> None:
    _, crossings = run(event(10, 0), event(700_000, 1, event_id="src"))

    c = crossings[0]
    assert (c.followers, c.previous_followers, c.source_event_id) == (700_000, 10, "src")
    assert c.occurred_at == T0 + SECOND


def test_a_threshold_added_to_the_configuration_fires_at_the_next_event() -> None:
    state, _ = run(event(750_000, 0))
    rules = PlatformRules(thresholds=(500_000, 700_000, 1_000_000))

    _, crossings, _ = step(state, event(750_000, 1), rules)

    assert summary(crossings) == [(700_000, "up")]


def test_a_threshold_removed_from_the_configuration_leaves_the_above_set_silently() -> None:
    state, _ = run(event(750_000, 0))
    rules = PlatformRules(thresholds=(1_000_000,))

    new_state, crossings, _ = step(state, event(10, 1), rules)

    assert crossings == []
    assert new_state is not None
    assert new_state.above == ()


def test_values_inside_the_hysteresis_band_never_emit_after_the_first_up() -> None:
    _, crossings = run(
        *(event(f, i) for i, f in enumerate([500_000, 495_000, 499_999, 490_000, 505_000]))
    )

    assert summary(crossings) == [(500_000, "up")]
