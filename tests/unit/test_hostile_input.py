"""Hostile input never raises: every record is either processed or dead-lettered."""

from __future__ import annotations

import base64
import json
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas import FollowerCountChanged
from streams import codec
from streams.config import Topics
from streams.core.rules import Rules
from streams.process.processors import Consumed, CrossingProcessor
from streams.process.replay import Replayer, replay_lines
from streams.testing.logs import hostile_records

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                ["event_id", "platform", "account_id", "followers", "occurred_at", "x"]
            ),
            children,
            max_size=6,
        )
    ),
    max_leaves=12,
)


@settings(max_examples=300)
@given(st.one_of(st.binary(max_size=300), json_values.map(lambda v: json.dumps(v).encode())))
def test_any_line_is_processed_or_dead_lettered_in_replay(raw: bytes) -> None:
    replayer = Replayer()

    records = replayer.feed(raw)

    letters = [r for r in records if r[0].endswith("-dlq")]
    assert len(letters) <= 1
    assert all(r[2]["reason"] for r in letters)


@settings(max_examples=300)
@given(st.binary(max_size=300), st.one_of(st.none(), st.binary(max_size=30)))
def test_any_record_is_processed_or_dead_lettered_live(raw: bytes, key: bytes | None) -> None:
    processor = CrossingProcessor(Rules(), Topics(), lambda key, partition: None)

    out, _ = processor.process([Consumed("follower-changes", 0, 7, key, raw)])

    assert processor.counters.events_total + processor.counters.dead_letters_total == 1
    assert all(
        orjson.loads(value)["type"] in {"DeadLetter", "ThresholdCrossed"} for _, _, value, _ in out
    )


def _valid(line: bytes) -> bool:
    try:
        FollowerCountChanged.model_validate_json(line)
    except ValueError:
        return False
    return True


def _original(letter: dict[str, Any]) -> bytes:
    value: str = letter["value"]
    if letter["value_encoding"] == "base64":
        return base64.b64decode(value)
    return value.encode()


def test_every_hostile_line_the_contract_refuses_is_dead_lettered_and_no_other() -> None:
    lines = list(hostile_records(20_000))
    written: list[bytes] = []

    replay_lines(lines, written.append, Replayer())

    records = [orjson.loads(line) for chunk in written for line in chunk.splitlines()]
    letters = [r["value"] for r in records if r["value"]["type"] == "DeadLetter"]
    refused = [line.rstrip(b"\r\n") for line in lines if not _valid(line)]
    assert len(refused) > 5_000
    assert sorted(_original(letter) for letter in letters) == sorted(refused)


def test_the_replay_loop_emits_what_feeding_each_line_alone_emits() -> None:
    # the loop inlines the valid-event path: a line it dropped would show here
    lines = list(hostile_records(20_000))
    written: list[bytes] = []
    replay_lines(lines, written.append, Replayer())
    one_by_one = Replayer()

    fed = [record for line in lines for record in one_by_one.feed(line)]

    assert b"".join(written) == b"".join(
        codec.dumps({"topic": t, "key": k, "value": v}) + b"\n" for t, k, v in fed
    )
