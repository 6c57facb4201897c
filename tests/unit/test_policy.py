"""The verification policy, one rule of the spec per test."""

from __future__ import annotations

from streams.core.crossings import ThresholdCrossed, crossing_event_id
from streams.core.policy import (
    DAY_US,
    PolicyState,
    RestrictionLifted,
    TrafficRestricted,
    VerificationCancelled,
    VerificationRequested,
    VerificationResult,
    is_subject,
    on_crossing,
    on_deadline,
    on_phase_start,
    on_result,
    record_event_id,
)
from streams.core.rules import Phase
from streams.core.timestamps import MAX_US

T0 = 1_700_000_000_000_000
ALWAYS = (Phase(500_000, None, 30), Phase(1_000_000, None, 30))
ROLLOUT = (Phase(1_000_000, T0, 30), Phase(500_000, T0 + 30 * DAY_US, 30))


def crossing(threshold: int, direction: str = "up", at: int = T0, n: int = 1) -> ThresholdCrossed:
    return ThresholdCrossed(
        crossing_event_id("weibo", "a1", threshold, direction, n),
        "weibo",
        "a1",
        threshold,
        direction,
        threshold,
        None,
        at,
        "src",
    )


def verified(at: int = T0, status: str = "verified") -> VerificationResult:
    return VerificationResult("v1", "weibo", "a1", status, at)


def requested_state(phases: tuple[Phase, ...] = ALWAYS) -> PolicyState:
    state, _ = on_crossing(None, crossing(500_000), phases, T0)
    return state


def test_a_subject_account_gets_a_request_due_after_the_grace_period() -> None:
    state, out = on_crossing(None, crossing(500_000), ALWAYS, T0)

    assert out == [
        VerificationRequested(
            record_event_id("VerificationRequested", "weibo", "a1", 1),
            "weibo",
            "a1",
            500_000,
            T0,
            T0 + 30 * DAY_US,
            crossing(500_000).event_id,
        )
    ]
    assert state.request is not None


def test_a_request_whose_grace_period_ends_after_year_9999_is_due_at_its_last_instant() -> None:
    late = MAX_US - DAY_US

    state, out = on_crossing(None, crossing(500_000, at=late), ALWAYS, late)

    assert isinstance(out[0], VerificationRequested)
    assert out[0].due_at == MAX_US
    assert state.request is not None
    assert state.request.due_at == MAX_US


def test_crossing_a_higher_threshold_while_a_request_is_open_changes_nothing() -> None:
    state = requested_state()

    new_state, out = on_crossing(state, crossing(1_000_000), ALWAYS, T0)

    assert out == []
    assert new_state.request == state.request


def test_a_request_names_the_highest_effective_threshold_the_account_is_above() -> None:
    state = PolicyState(above=(500_000,))

    _, out = on_crossing(state, crossing(1_000_000), ALWAYS, T0)

    assert isinstance(out[0], VerificationRequested)
    assert out[0].threshold == 1_000_000


def test_a_threshold_whose_phase_has_not_started_does_not_make_an_account_subject() -> None:
    _, out = on_crossing(None, crossing(500_000), ROLLOUT, T0)

    assert out == []


def test_falling_below_cancels_the_open_request() -> None:
    state = requested_state()
    assert state.request is not None

    new_state, out = on_crossing(state, crossing(500_000, "down", at=T0 + 1), ALWAYS, T0 + 1)

    assert out == [
        VerificationCancelled(
            record_event_id("VerificationCancelled", "weibo", "a1", 1),
            "weibo",
            "a1",
            state.request.request_id,
            T0 + 1,
            "below_threshold",
        )
    ]
    assert new_state.request is None


def test_the_deadline_restricts_traffic_and_income_of_an_unverified_subject_account() -> None:
    state = requested_state()
    assert state.request is not None
    due = state.request.due_at

    new_state, out = on_deadline(state, "weibo", "a1", due, ALWAYS)

    assert out == [
        TrafficRestricted(
            record_event_id("TrafficRestricted", "weibo", "a1", 1),
            "weibo",
            "a1",
            state.request.request_id,
            ("traffic", "income"),
            due,
            "verification_overdue",
        )
    ]
    assert new_state.restricted
    assert new_state.request is None


def test_a_deadline_of_a_closed_request_does_nothing() -> None:
    state = requested_state()
    assert state.request is not None
    state, _ = on_result(state, verified())

    _, out = on_deadline(state, "weibo", "a1", T0 + 30 * DAY_US, ALWAYS)

    assert out == []


def test_verifying_closes_an_open_request_without_output() -> None:
    state = requested_state()

    new_state, out = on_result(state, verified())

    assert out == []
    assert new_state.verified
    assert new_state.request is None


def test_verifying_a_restricted_account_lifts_the_restriction() -> None:
    state = PolicyState(above=(500_000,), restricted=True)

    new_state, out = on_result(state, verified(T0 + 5))

    assert out == [
        RestrictionLifted(
            record_event_id("RestrictionLifted", "weibo", "a1", 1),
            "weibo",
            "a1",
            T0 + 5,
            "verified",
        )
    ]
    assert not new_state.restricted


def test_a_rejected_result_changes_nothing() -> None:
    state = requested_state()

    new_state, out = on_result(state, verified(status="rejected"))

    assert (new_state, out) == (state, [])


def test_a_verified_account_never_gets_a_request_again() -> None:
    state, _ = on_result(None, verified())

    _, out = on_crossing(state, crossing(1_000_000), ALWAYS, T0)

    assert out == []


def test_a_restricted_account_that_falls_below_is_lifted() -> None:
    state = PolicyState(above=(500_000,), restricted=True)

    new_state, out = on_crossing(state, crossing(500_000, "down"), ALWAYS, T0)

    assert [type(o) for o in out] == [RestrictionLifted]
    assert isinstance(out[0], RestrictionLifted)
    assert out[0].reason == "below_threshold"
    assert not new_state.restricted


def test_a_lifted_unverified_account_that_rises_again_is_requested_anew() -> None:
    state = PolicyState(above=(), restricted=False, counts=(1, 0, 1, 1))

    _, out = on_crossing(state, crossing(500_000, n=2), ALWAYS, T0)

    assert isinstance(out[0], VerificationRequested)
    assert out[0].event_id == record_event_id("VerificationRequested", "weibo", "a1", 2)


def test_a_phase_start_requests_an_account_already_above_its_threshold() -> None:
    state, _ = on_crossing(None, crossing(500_000), ROLLOUT, T0)
    start = T0 + 30 * DAY_US

    _, out = on_phase_start(state, "weibo", "a1", ROLLOUT, (ROLLOUT[1],), start)

    assert out == [
        VerificationRequested(
            record_event_id("VerificationRequested", "weibo", "a1", 1),
            "weibo",
            "a1",
            500_000,
            start,
            start + 30 * DAY_US,
            None,
        )
    ]


def test_a_phase_start_ignores_an_account_below_its_threshold() -> None:
    state = PolicyState(above=())

    _, out = on_phase_start(state, "weibo", "a1", ROLLOUT, (ROLLOUT[1],), T0 + 30 * DAY_US)

    assert out == []


def test_an_account_held_by_hysteresis_is_still_above() -> None:
    assert is_subject((500_000,), ALWAYS, T0)
