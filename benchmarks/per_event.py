"""The crossing rule one event at a time, on JSON values and JSON-able state:
what the baselines (naive Faust, Quix Streams) run per event."""

from __future__ import annotations

from typing import Any

from streams import codec
from streams.core.crossings import AccountState, FollowerCountChanged, step
from streams.core.rules import Rules
from streams.core.timestamps import parse_rfc3339

__all__ = ["crossings_of"]

_rules = Rules()


def _state(stored: list[Any]) -> AccountState:
    followers, sequence, occurred_at, offset, above, counts = stored
    return AccountState(
        followers, sequence, occurred_at, offset, tuple(above), tuple(map(tuple, counts))
    )


def crossings_of(
    value: dict[str, Any], stored: list[Any] | None
) -> tuple[list[Any] | None, list[dict[str, Any]]]:
    """The account's new state to store (None: leave it) and the crossings
    (as the topic's JSON values) of one follower-change value; a value that is
    not a follower change changes nothing."""
    try:
        event = FollowerCountChanged(
            value["event_id"],
            value["platform"],
            value["account_id"],
            value["followers"],
            parse_rfc3339(value["occurred_at"]),
            value.get("sequence"),
        )
    except (KeyError, TypeError, ValueError):
        return None, []
    state = None if stored is None else _state(stored)
    new_state, found, _ = step(state, event, _rules.for_platform(event.platform))
    return (
        None if new_state is None else list(new_state),
        [codec.encode_crossing(c) for c in found],
    )
