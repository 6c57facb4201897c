"""Replay event logs in your own tests, offline or against a live broker.

    from streams.testing import replay, follower_change, verification_result

    records = replay([
        follower_change("a1", 400_000, "2023-11-01T00:00:00Z"),
        follower_change("a1", 600_000, "2023-11-02T00:00:00Z"),
    ])
    assert records[0].value.direction == "up"

The same core runs here as in the live worker and `thresholds replay`.
Fixtures for a broker and a worker come with the package's pytest plugin
(`streams.testing.plugin`).
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from pydantic import BaseModel

from schemas import parse_value
from streams.config import Topics, load_rules, parse_rules
from streams.core.rules import Rules
from streams.process.replay import Replayer, iter_lines, replay_lines
from streams.testing.golden import assert_matches_golden, diff_records
from streams.testing.logs import follower_change, generate_events, verification_result

__all__ = [
    "Emitted",
    "assert_matches_golden",
    "diff_records",
    "follower_change",
    "generate_events",
    "replay",
    "verification_result",
]

Event = Mapping[str, Any] | BaseModel | bytes | str


@dataclass(frozen=True, slots=True)
class Emitted:
    """One emitted record: its topic, key and value as a `schemas` model."""

    topic: str
    key: str | None
    value: Any

    def as_json(self) -> dict[str, Any]:
        """`{"topic", "key", "value"}` exactly as `thresholds replay` writes it."""
        return {
            "topic": self.topic,
            "key": self.key,
            "value": self.value.model_dump(mode="json", exclude_unset=True),
        }


def _rules(config: Rules | Mapping[str, Any] | str | os.PathLike[str] | None) -> Rules:
    if config is None or isinstance(config, Rules):
        return config or Rules()
    if isinstance(config, Mapping):
        return parse_rules(config)
    return load_rules(config)


def _line(event: Event) -> bytes:
    if isinstance(event, bytes):
        return event
    if isinstance(event, str):
        return event.encode()
    if isinstance(event, BaseModel):
        return event.model_dump_json(exclude_none=True).encode()
    return orjson.dumps(dict(event))


def replay(
    events: Iterable[Event] | str | os.PathLike[str],
    config: Rules | Mapping[str, Any] | str | os.PathLike[str] | None = None,
    *,
    topics: Topics | None = None,
) -> list[Emitted]:
    """Replay events (dicts, models, raw lines, or a JSONL path) and return what is emitted.

    `config` is a `Rules`, a dict in the TOML file's shape, or a path to a TOML
    file. Dead letters are returned too (their value is a `DeadLetter`).
    """
    replayer = Replayer(_rules(config), topics or Topics())
    sink = io.BytesIO()
    if isinstance(events, str | os.PathLike):
        with Path(events).open("rb") as f:
            replay_lines(iter_lines(f), sink.write, replayer)
    else:
        replay_lines((_line(e) for e in events), sink.write, replayer)
    out = []
    for raw in sink.getvalue().splitlines():
        record = orjson.loads(raw)
        out.append(Emitted(record["topic"], record["key"], parse_value(record["value"])))
    return out
