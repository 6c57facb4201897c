"""The agent a user would write first: a Table read and write per event, an awaited
send per crossing, Faust's JSON codec. The same crossing rule, for a fair baseline.

    python -m benchmarks.naive_app worker -l info   (environment as for our worker)
"""

from __future__ import annotations

import os
from typing import Any

import faust

from streams import codec
from streams.config import Settings
from streams.core.crossings import AccountState, FollowerCountChanged, step
from streams.core.rules import Rules
from streams.timestamps import parse_rfc3339

settings = Settings.from_env()
rules = Rules()
app = faust.App(
    f"{settings.app_id}-naive",
    broker=f"kafka://{settings.bootstrap_servers}",
    store="memory://",
    datadir=settings.data_dir,
    topic_partitions=settings.partitions,
    web_enabled=False,
    consumer_auto_offset_reset="earliest",
    broker_session_timeout=10.0,
    broker_heartbeat_interval=1.0,
    broker_rebalance_timeout=10.0,
)
changes = app.topic(settings.topics.follower_changes, key_type=str, value_serializer="json")
crossings = app.topic(settings.topics.threshold_crossings, key_type=str, value_serializer="json")
states = app.Table("naive-state", default=None, partitions=settings.partitions)


def _state(stored: list[Any]) -> AccountState:
    followers, sequence, occurred_at, offset, above, counts = stored
    return AccountState(
        followers, sequence, occurred_at, offset, tuple(above), tuple(map(tuple, counts))
    )


@app.agent(changes)
async def process(stream: Any) -> None:
    async for key, value in stream.items():
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
            continue
        stored = states.get(key)
        state = None if stored is None else _state(stored)
        new_state, found, _ = step(state, event, rules.for_platform(event.platform))
        if new_state is not None:
            states[key] = list(new_state)  # Faust's JSON codec stores the table
        for c in found:
            await crossings.send(key=key, value=codec.encode_crossing(c))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    app.main()
