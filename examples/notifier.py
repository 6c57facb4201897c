"""A downstream team's consumer: turns crossings into messages for an account manager.

It knows nothing of this project but the wire contract: a `ThresholdCrossed`
JSON value from `threshold-crossings`.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Notifier"]


class Notifier:
    """Deduplicates on `event_id` (delivery is at-least-once) and writes messages."""

    def __init__(self) -> None:
        self.seen: set[str] = set()
        self.messages: list[str] = []

    def handle(self, value: dict[str, Any]) -> None:
        """Handle one `threshold-crossings` value."""
        if value["event_id"] in self.seen:
            return
        self.seen.add(value["event_id"])
        verb = "passed" if value["direction"] == "up" else "fell below"
        self.messages.append(
            f"{value['platform']}/{value['account_id']} {verb} {value['threshold']:,} followers"
        )
