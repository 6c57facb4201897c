"""The order timers fire in: time, then deadlines before phase starts, then key.

The one home of the spec's rule "at equal times deadlines fire before phase
starts", and of key order (the key string compared by code point, which is
also the order of its UTF-8 bytes). Replay and the live policy both sort by
`timer_order`.
"""

from __future__ import annotations

__all__ = ["DEADLINE", "PHASE_START", "timer_order"]

DEADLINE = 0
"""A verification request falling due."""

PHASE_START = 1
"""A rollout phase becoming effective."""


def timer_order(at: int, kind: int, key: str | bytes = "") -> tuple[int, int, str | bytes]:
    """The sort key of a timer: when, what (deadlines first), then whose."""
    return (at, kind, key)
