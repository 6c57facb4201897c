"""What `/ready` answers in each state of a worker (SPEC.md, "Operations")."""

from __future__ import annotations

from typing import Any

from streams.engine.web import readiness

READY: dict[str, Any] = {
    "dead": [],
    "stopping": False,
    "joined": True,
    "rebalancing": False,
    "recovering": False,
    "remaining": 0,
}


def state(**changes: Any) -> tuple[str, str]:
    return readiness(**{**READY, **changes})


def test_a_worker_in_its_group_recovered_and_consuming_is_ready() -> None:
    assert state() == ("ready", "")


def test_a_worker_not_yet_in_its_group_is_starting() -> None:
    assert state(joined=False)[0] == "starting"


def test_a_worker_restoring_its_tables_is_recovering_and_says_how_much_is_left() -> None:
    assert state(recovering=True, remaining=1234) == (
        "recovering",
        "1234 changelog records left to restore",
    )


def test_a_worker_in_a_rebalance_is_rebalancing() -> None:
    assert state(rebalancing=True)[0] == "rebalancing"


def test_a_worker_restoring_tables_in_a_rebalance_is_recovering() -> None:
    assert state(rebalancing=True, recovering=True, remaining=5)[0] == "recovering"


def test_a_worker_shutting_down_is_stopping_whatever_else_holds() -> None:
    assert state(stopping=True, joined=False, rebalancing=True)[0] == "stopping"


def test_a_worker_with_a_dead_agent_is_not_ready_and_names_it() -> None:
    assert state(dead=["crossings"]) == ("stopping", "agent crossings has stopped")


def test_a_worker_no_broker_answers_is_not_ready_and_says_since_when() -> None:
    detail = "no Kafka broker has answered for 12s; stopping at 120s"

    assert state(unreachable=detail) == ("rebalancing", detail)
