"""The agent a user would write first: a Table read and write per event, an awaited
send per crossing, Faust's JSON codec. The same crossing rule, for a fair baseline.

    python -m benchmarks.naive_app worker -l info   (environment as for our worker)
"""

from __future__ import annotations

import os
from typing import Any

import faust

from benchmarks.per_event import crossings_of
from streams.config import Settings

settings = Settings.from_env()
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


@app.agent(changes)
async def process(stream: Any) -> None:
    async for key, value in stream.items():
        new_state, found = crossings_of(value, states.get(key))
        if new_state is not None:
            states[key] = new_state  # Faust's JSON codec stores the table
        for crossing in found:
            await crossings.send(key=key, value=crossing)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    app.main()
