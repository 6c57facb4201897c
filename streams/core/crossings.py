"""The crossing rule: one pure step per follower-count event of an account."""

from __future__ import annotations

import uuid
from enum import Enum
from typing import NamedTuple

from streams.core.rules import HYSTERESIS_SCALE, PlatformRules

__all__ = [
    "AccountState",
    "FollowerCountChanged",
    "Outcome",
    "ThresholdCrossed",
    "crossing_event_id",
    "step",
]

# NamedTuple rather than a frozen dataclass for the per-event values: they are
# built once per input record, and tuple construction is several times cheaper
# than a frozen dataclass __init__ on the hot path.


class FollowerCountChanged(NamedTuple):
    """A valid follower-count change, times in UTC microseconds since the epoch."""

    event_id: str
    platform: str
    account_id: str
    followers: int
    occurred_at: int
    sequence: int | None = None


class ThresholdCrossed(NamedTuple):
    """An account went above (`up`) or below (`down`) a threshold."""

    event_id: str
    platform: str
    account_id: str
    threshold: int
    direction: str
    followers: int
    previous_followers: int | None
    occurred_at: int
    source_event_id: str


class AccountState(NamedTuple):
    """What the crossing rule remembers about one account."""

    followers: int
    sequence: int | None
    occurred_at: int
    # input offset of the last record applied (live only; None in replay)
    offset: int | None
    # thresholds the account is above, ascending
    above: tuple[int, ...]
    # (threshold, ups, downs) for every threshold ever crossed, ascending
    counts: tuple[tuple[int, int, int], ...]


class Outcome(Enum):
    """What a step did with its event."""

    APPLIED = "applied"
    STALE = "stale"
    REDELIVERED = "redelivered"


_NO_CROSSINGS: list[ThresholdCrossed] = []  # shared, never appended to
# tuple.__new__ skips NamedTuple's Python-level __new__: a third of the cost
# of a step that crosses nothing
_tuple_new = tuple.__new__


_APPLIED, _STALE, _REDELIVERED = Outcome.APPLIED, Outcome.STALE, Outcome.REDELIVERED


def crossing_event_id(
    platform: str, account_id: str, threshold: int, direction: str, n: int
) -> str:
    """The deterministic id of the n-th crossing of `threshold` in `direction`."""
    name = f"threshold-crossed:{platform}/{account_id}/{threshold}/{direction}/{n}"
    return str(uuid.uuid5(uuid.NAMESPACE_URL, name))


def step(
    state: AccountState | None,
    event: FollowerCountChanged,
    rules: PlatformRules,
    offset: int | None = None,
) -> tuple[AccountState | None, list[ThresholdCrossed], Outcome]:
    """Apply one event to an account's state; return the new state and crossings.

    The returned list of crossings may be shared: read it, never append to it.
    """
    # Tuple unpacking rather than attribute access: this runs once per event.
    _, _, _, followers, occurred_at, sequence = event
    if state is None:
        above: tuple[int, ...] = ()
        counts: tuple[tuple[int, int, int], ...] = ()
        previous: int | None = None
    else:
        previous, last_sequence, last_occurred_at, last_offset, above, counts = state
        if offset is not None and last_offset is not None and offset <= last_offset:
            return state, _NO_CROSSINGS, _REDELIVERED
        if sequence is not None and last_sequence is not None:
            if sequence <= last_sequence:
                return state, _NO_CROSSINGS, _STALE
        elif occurred_at < last_occurred_at:
            return state, _NO_CROSSINGS, _STALE
        if sequence is None:
            sequence = last_sequence

    thresholds = rules.thresholds
    crossings: list[ThresholdCrossed] = _NO_CROSSINGS
    if above and not rules.threshold_set.issuperset(above):
        above = tuple(t for t in above if t in rules.release)
    # Most events cross nothing: test the cheap bounds before any loop.
    if followers >= thresholds[0] and len(above) < len(thresholds):
        for threshold in thresholds:  # ascending
            if followers < threshold:
                break
            if threshold not in above:
                if crossings is _NO_CROSSINGS:
                    crossings = []
                above, counts = _cross(event, previous, threshold, "up", above, counts, crossings)
    if above:
        release = rules.release
        scaled = followers * HYSTERESIS_SCALE
        if scaled < release[above[-1]]:
            if crossings is _NO_CROSSINGS:
                crossings = []
            for threshold in reversed(above):
                if scaled < release[threshold]:
                    above, counts = _cross(
                        event, previous, threshold, "down", above, counts, crossings
                    )
    new_state: AccountState = _tuple_new(
        AccountState, (followers, sequence, occurred_at, offset, above, counts)
    )
    return new_state, crossings, _APPLIED


def _cross(
    event: FollowerCountChanged,
    previous: int | None,
    threshold: int,
    direction: str,
    above: tuple[int, ...],
    counts: tuple[tuple[int, int, int], ...],
    out: list[ThresholdCrossed],
) -> tuple[tuple[int, ...], tuple[tuple[int, int, int], ...]]:
    ups, downs = 0, 0
    for t, u, d in counts:
        if t == threshold:
            ups, downs = u, d
            break
    if direction == "up":
        ups += 1
        n = ups
        above = tuple(sorted((*above, threshold)))
    else:
        downs += 1
        n = downs
        above = tuple(t for t in above if t != threshold)
    counts = tuple(sorted((*(c for c in counts if c[0] != threshold), (threshold, ups, downs))))
    event_id = crossing_event_id(event.platform, event.account_id, threshold, direction, n)
    out.append(
        ThresholdCrossed(
            event_id,
            event.platform,
            event.account_id,
            threshold,
            direction,
            event.followers,
            previous,
            event.occurred_at,
            event.event_id,
        )
    )
    return above, counts
