"""When no broker answers (streams.engine.brokers.BrokerWatch): `/ready` says
so after a while, the worker stops after THRESHOLDS_BROKER_TIMEOUT, and one
answer in between starts the count again."""

from __future__ import annotations

from streams.engine.brokers import UNREADY_AFTER, BrokerWatch


def test_a_worker_whose_brokers_answer_stays_up_and_ready() -> None:
    watch = BrokerWatch(timeout=120)

    reasons = [watch.observe(t, answered=True) for t in range(0, 600, 5)]

    assert reasons == [None] * len(reasons)
    assert watch.unready(600) is None


def test_no_answer_for_the_broker_timeout_stops_the_worker_with_a_reason() -> None:
    watch = BrokerWatch(timeout=120)

    reasons = [watch.observe(t, answered=False) for t in range(0, 125, 5)]

    assert reasons[:-1] == [None] * (len(reasons) - 1)
    assert reasons[-1] == "no Kafka broker has answered for 120s (THRESHOLDS_BROKER_TIMEOUT=120)"


def test_ready_says_so_only_after_a_few_seconds_without_an_answer() -> None:
    watch = BrokerWatch(timeout=120)
    watch.observe(100, answered=False)

    assert watch.unready(100 + UNREADY_AFTER - 1) is None
    assert watch.unready(100 + UNREADY_AFTER) is not None


def test_one_answer_starts_the_count_again() -> None:
    watch = BrokerWatch(timeout=120)
    watch.observe(0, answered=False)
    watch.observe(100, answered=True)

    assert watch.observe(200, answered=False) is None
    assert watch.observe(319, answered=False) is None
    assert watch.observe(320, answered=False) is not None
