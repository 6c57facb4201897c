"""The decoders' oracles: what every fuzzer and byte-level property checks.

Each target takes arbitrary bytes, feeds them to one decoder exactly as the
live worker or `thresholds replay` would, and asserts that nothing escapes
and that the outcome agrees with the published contract (the pydantic
models in `schemas/`): a record is accepted exactly when the model accepts
it (and its key matches), with the same field values, and refused as a dead
letter with a snake_case reason otherwise.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

import orjson
from pydantic import BaseModel, ValidationError

import schemas
from streams import codec
from streams.config import Topics
from streams.core.rules import Rules
from streams.core.timestamps import to_datetime
from streams.process.processors import Consumed, CrossingProcessor, PolicyProcessor
from streams.process.replay import Replayer

__all__ = ["SEEDS", "TARGETS", "split_key"]

_REASON = re.compile(r"[a-z][a-z0-9_]*")
_EPOCH = to_datetime(0)


def _micros(at: datetime) -> int:
    delta = at - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def split_key(data: bytes) -> tuple[bytes | None, bytes]:
    """A record from fuzz bytes: the first line is the key ("-" for none), the rest the value."""
    head, sep, value = data.partition(b"\n")
    if not sep:
        return None, data
    return (None if head == b"-" else head), value


def _model(model: type[BaseModel], value: bytes) -> Any:
    try:
        return model.model_validate_json(value)
    except ValidationError:
        return None


def _key_matches(key: bytes | None, platform: str, account_id: str) -> bool:
    return key == f"{platform}:{account_id}".encode()


def _letter(value: bytes) -> dict[str, Any]:
    letter: dict[str, Any] = orjson.loads(value)
    assert letter["type"] == "DeadLetter"
    assert _REASON.fullmatch(letter["reason"]), letter["reason"]
    assert letter["detail"]
    assert "\n" not in letter["detail"]
    schemas.DeadLetter.model_validate(letter)
    return letter


def follower_change(data: bytes) -> None:
    """`follower-changes` as the crossing agent reads it (fast path first)."""
    key, value = split_key(data)
    processor = CrossingProcessor(Rules(), Topics(), lambda key, partition: None)

    out, writes = processor.process([Consumed("follower-changes", 0, 0, key, value)])

    model = _model(schemas.FollowerCountChanged, value)
    accepted = model is not None and _key_matches(key, model.platform, model.account_id)
    counters = processor.counters
    assert counters.events_total + counters.dead_letters_total == 1
    assert (counters.events_total == 1) == accepted, (model, out)
    if not accepted:
        letter = _letter(out[0][2])
        assert letter["topic"] == "follower-changes"
        return
    state = codec.decode_account_state(writes[key][1])  # type: ignore[index]
    assert state.followers == model.followers
    assert state.sequence == model.sequence
    assert state.occurred_at == _micros(model.occurred_at)
    fast = codec.decode_follower_change_fast(value)
    assert fast is None or fast == codec.decode_follower_change(codec.parse_json(value), value)


def _policy_input(data: bytes, topic: str, model_type: type[BaseModel]) -> Any:
    """Feed one record of `topic` to the policy processor; return the model's
    reading of it when it was accepted (and must have been), else None."""
    key, value = split_key(data)
    policy = PolicyProcessor(
        Rules(), Topics(), lambda key, partition: None, lambda _: iter(()), lambda _: None
    )

    out, writes, _ = policy.process([Consumed(topic, 0, 0, key, value)], 0)

    model = _model(model_type, value)
    accepted = model is not None and _key_matches(key, model.platform, model.account_id)
    assert (policy.counters.dead_letters_total == 0) == accepted, (model, out)
    if not accepted:
        assert len(out) == 1
        _letter(out[0][2])
        return None
    assert key in writes
    return model


def verification_result(data: bytes) -> None:
    """`verification-results` as the policy agent reads it."""
    _policy_input(data, "verification-results", schemas.VerificationResult)


def threshold_crossed(data: bytes) -> None:
    """`threshold-crossings` as the policy agent reads it."""
    model = _policy_input(data, "threshold-crossings", schemas.ThresholdCrossed)
    if model is not None:
        value = split_key(data)[1]
        crossing = codec.decode_threshold_crossed(codec.parse_json(value), value)
        assert crossing.threshold == model.threshold
        assert crossing.previous_followers == model.previous_followers
        assert crossing.occurred_at == _micros(model.occurred_at)


def replay_line(data: bytes) -> None:
    """One line of a `thresholds replay` input (either input type)."""
    line = data.split(b"\n", 1)[0]
    replayer = Replayer()

    records = replayer.feed(line)

    letters = [v for t, _, v in records if t.endswith("-dlq")]
    assert len(letters) <= 1
    for letter in letters:
        _letter(orjson.dumps(letter))
    if not letters and line.strip():  # a line of ASCII whitespace is blank
        # accepted by replay: the model its `type` names accepts it
        line = line.rstrip(b"\r").removeprefix(b"\xef\xbb\xbf")
        kind = json.loads(line).get("type")  # orjson refuses 1e400, which is JSON
        is_result = kind == "VerificationResult"
        model = schemas.VerificationResult if is_result else schemas.FollowerCountChanged
        assert _model(model, line) is not None, line


TARGETS: dict[str, Callable[[bytes], None]] = {
    "follower_change": follower_change,
    "verification_result": verification_result,
    "threshold_crossed": threshold_crossed,
    "replay_line": replay_line,
}
"""Every decoder, by name: what the fuzzer and the byte-level properties run."""

_CHANGE = (
    b'{"type":"FollowerCountChanged","schema_version":1,"event_id":"e1","platform":"weibo",'
    b'"account_id":"a1","followers":500000,"delta":12,"occurred_at":"2023-11-01T08:00:00.5+08:00",'
    b'"sequence":3}'
)
_RESULT = (
    b'{"type":"VerificationResult","schema_version":1,"event_id":"r1","platform":"weibo",'
    b'"account_id":"a1","status":"verified","decided_at":"2023-11-02T00:00:00Z"}'
)
_CROSSING = (
    b'{"type":"ThresholdCrossed","schema_version":1,'
    b'"event_id":"8c3b5e0e-0a5d-5f6c-9d3e-1b2c3d4e5f60","platform":"weibo","account_id":"a1",'
    b'"threshold":500000,"direction":"up","followers":500000,"previous_followers":null,'
    b'"occurred_at":"2023-11-01T00:00:00Z","source_event_id":"e1"}'
)
SEEDS: dict[str, list[bytes]] = {
    "follower_change": [b"weibo:a1\n" + _CHANGE, b"-\n" + _CHANGE, b"weibo:a2\n" + _CHANGE],
    "verification_result": [b"weibo:a1\n" + _RESULT],
    "threshold_crossed": [b"weibo:a1\n" + _CROSSING],
    "replay_line": [_CHANGE, _RESULT, b"\xef\xbb\xbf" + _CHANGE + b"\r\n", b""],
}
"""Valid records to start from: a fuzzer mutates these."""
