"""A recovery that stops making progress is reported, once the timeout has passed."""

from __future__ import annotations

from streams.engine.watchdog import RecoveryWatch


def test_a_recovery_that_restores_records_is_never_stopped() -> None:
    watch = RecoveryWatch(timeout=10)

    reasons = [watch.observe(t, True, 1000 - t) for t in range(0, 100, 5)]

    assert reasons == [None] * 20


def test_a_recovery_stuck_for_the_timeout_is_stopped_with_a_reason() -> None:
    watch = RecoveryWatch(timeout=10)
    watch.observe(0, True, 500)

    early = watch.observe(9, True, 500)
    late = watch.observe(10, True, 500)

    assert early is None
    assert late is not None
    assert "no progress for 10s" in late
    assert "500 changelog records left" in late


def test_the_clock_restarts_when_recovery_ends() -> None:
    watch = RecoveryWatch(timeout=10)
    watch.observe(0, True, 500)
    watch.observe(5, False, 0)

    assert watch.observe(12, True, 500) is None
