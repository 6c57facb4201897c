"""The crossing job as a Quix Streams user would write it, for a side-by-side
figure: a stateful `apply` per event (Quix's RocksDB state and its changelog),
the same crossing rule, the crossings sent to the output topic. Quix's defaults
otherwise, its 5 s commit interval included (QUIX_COMMIT_INTERVAL overrides).

Runs in an environment of its own (`python3 run.py bench` makes `.venv-quix`):
quixstreams 3.28 pins confluent-kafka and pydantic below this project's pins.

    KAFKA_BOOTSTRAP_SERVERS=... THRESHOLDS_APP_ID=... THRESHOLDS_DATA_DIR=... \
    TOPIC_FOLLOWER_CHANGES=... TOPIC_THRESHOLD_CROSSINGS=... \
    PYTHONPATH=<this repository> .venv-quix/bin/python -m benchmarks.quix_app
"""

from __future__ import annotations

import os
from typing import Any

from quixstreams import Application

from benchmarks.per_event import crossings_of


def process(value: dict[str, Any], state: Any) -> list[dict[str, Any]]:
    """One event: its account's state read and written, its crossings returned."""
    new_state, found = crossings_of(value, state.get("account"))
    if new_state is not None:
        state.set("account", new_state)
    return found


def main() -> None:
    """Run the application on the topics the environment names."""
    env = os.environ
    app = Application(
        broker_address=env["KAFKA_BOOTSTRAP_SERVERS"],
        consumer_group=f"{env['THRESHOLDS_APP_ID']}-quix",
        auto_offset_reset="earliest",
        state_dir=env["THRESHOLDS_DATA_DIR"] + "/quix",
        loglevel="INFO",
        # Quix's default is 5 s; the benchmark also runs it at our 0.5 s
        commit_interval=float(env.get("QUIX_COMMIT_INTERVAL", "5.0")),
    )
    changes = app.topic(
        env["TOPIC_FOLLOWER_CHANGES"], key_deserializer="str", value_deserializer="json"
    )
    crossings = app.topic(
        env["TOPIC_THRESHOLD_CROSSINGS"], key_serializer="str", value_serializer="json"
    )
    sdf = app.dataframe(changes)
    sdf = sdf.apply(process, stateful=True, expand=True)
    sdf.to_topic(crossings)
    app.run()


if __name__ == "__main__":
    main()
