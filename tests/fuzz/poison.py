"""Named hostile records of each kind the fuzzers know, for the live tests.

Each is (name, key, value, reason): the record as it arrives on its topic and
the dead-letter reason the contract gives it.
"""

from __future__ import annotations

from collections.abc import Callable

import orjson

__all__ = ["Poison", "change_poison", "crossing_poison", "result_poison"]

Poison = tuple[str, bytes | None, bytes | None, str]

_CHANGE = {
    "event_id": "poison",
    "platform": "weibo",
    "account_id": "a1",
    "followers": 2_000_000,
    "occurred_at": "2023-11-01T00:00:00Z",
}


def _with(**fields: object) -> bytes:
    return orjson.dumps({**_CHANGE, **fields})


def change_poison(key: bytes) -> list[Poison]:
    """Hostile `follower-changes` records for the account keyed `key`."""
    valid = _with()
    return [
        (
            "invalid UTF-8 inside a string",
            key,
            valid.replace(b'"poison"', b'"poi\xffson"'),
            "invalid_encoding",
        ),
        ("invalid UTF-8 in the key", b"weibo:\xff", valid, "invalid_encoding"),
        (
            "an encoded surrogate",
            key,
            valid.replace(b'"poison"', b'"\xed\xa0\x80"'),
            "invalid_encoding",
        ),
        ("a lone surrogate escape", key, valid.replace(b'"poison"', b'"\\ud800"'), "invalid_json"),
        ("not JSON", key, b"\x00\x01 not json", "invalid_json"),
        ("no value (a tombstone)", key, None, "invalid_json"),
        ("a JSON array", key, b"[1, 2]", "invalid_json"),
        ("NaN", key, valid.replace(b"2000000", b"NaN"), "invalid_json"),
        ("a float count", key, _with(followers=2e6), "invalid_field"),
        ("a bool count", key, _with(followers=True), "invalid_field"),
        ("a string count", key, _with(followers="2000000"), "invalid_field"),
        ("a naive time", key, _with(occurred_at="2023-11-01T00:00:00"), "invalid_field"),
        ("a newer schema", key, _with(schema_version=2), "unsupported_schema_version"),
        ("an unknown type", key, _with(type="Nope"), "unknown_type"),
        ("a key of another account", b"weibo:a2", valid, "key_mismatch"),
        ("a platform with a newline", key, _with(platform="weibo\n"), "invalid_field"),
        ("a missing field", key, orjson.dumps({"event_id": "x"}), "missing_field"),
        (
            "deep nesting",
            key,
            b'{"followers": 1.5, "x": ' + b"[" * 2000 + b"]" * 2000 + b"}",
            "invalid_json",
        ),
    ]


def result_poison(key: bytes) -> list[Poison]:
    """Hostile `verification-results` records."""
    valid = orjson.dumps(
        {
            "event_id": "r",
            "platform": "weibo",
            "account_id": "a1",
            "status": "verified",
            "decided_at": "2023-11-01T00:00:00Z",
        }
    )
    return [
        (
            "invalid UTF-8 inside a string",
            key,
            valid.replace(b'"r"', b'"\xff"'),
            "invalid_encoding",
        ),
        ("personal data", key, valid[:-1] + b',"real_name":"x\\ny"}', "unexpected_field"),
        ("a bad status", key, valid.replace(b"verified", b"maybe"), "invalid_field"),
        ("not JSON", key, b"{", "invalid_json"),
    ]


def crossing_poison(key: bytes) -> list[Poison]:
    """Hostile records on `threshold-crossings`, as the policy agent reads it."""
    return [
        (
            "invalid UTF-8",
            key,
            b'{"type":"ThresholdCrossed","event_id":"\xff"}',
            "invalid_encoding",
        ),
        ("not a crossing", key, b'{"type":"ThresholdCrossed"}', "missing_field"),
        ("not JSON", key, b"\xff\xfe", "invalid_encoding"),
    ]


POISON: dict[str, Callable[[bytes], list[Poison]]] = {
    "follower_changes": change_poison,
    "verification_results": result_poison,
    "threshold_crossings": crossing_poison,
}
