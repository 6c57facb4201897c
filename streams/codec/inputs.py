"""Input records -> core values, or `Rejected` with a reason: total decoders.

Whatever bytes arrive, a decoder returns a value or raises `Rejected`; the
fuzzer in tests/fuzz holds every one of them to the published models.
Decoding is hand-written over orjson because it runs once per input record.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

from streams.codec.fast import MAX_FOLLOWERS, is_utf8, learn
from streams.core.crossings import FollowerCountChanged, ThresholdCrossed
from streams.core.identity import PLATFORM_PATTERN, is_account_id, is_platform, record_key
from streams.core.policy import VerificationResult
from streams.core.timestamps import parse_rfc3339

__all__ = [
    "FOLLOWER_COUNT_CHANGED",
    "REASONS",
    "SCHEMA_VERSION",
    "THRESHOLD_CROSSED",
    "VERIFICATION_RESULT",
    "Rejected",
    "decode_follower_change",
    "decode_threshold_crossed",
    "decode_verification_result",
    "parse_json",
    "record_type",
]

SCHEMA_VERSION = 1

REASONS = (
    "invalid_json",
    "invalid_encoding",
    "missing_field",
    "invalid_field",
    "unexpected_field",
    "unknown_type",
)
"""Every reason a dead letter can carry (the spec's codes and ours)."""
FOLLOWER_COUNT_CHANGED = "FollowerCountChanged"
VERIFICATION_RESULT = "VerificationResult"
THRESHOLD_CROSSED = "ThresholdCrossed"
_RESULT_FIELDS = frozenset(
    {
        "type",
        "schema_version",
        "event_id",
        "platform",
        "account_id",
        "status",
        "decided_at",
    }
)


class Rejected(Exception):
    """A record that cannot be accepted: `reason` for machines, `detail` for people."""

    def __init__(self, reason: str, detail: str, redact: tuple[str, ...] = ()) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
        # fields whose values must never be stored, not even in a dead letter
        self.redact = redact


class _Reparse(Exception):
    """orjson turned an integer beyond 64 bits into a float; re-read exactly."""


_OVERFLOW = "number is infinity when parsed as double"  # orjson's words, pinned by a test


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def parse_json(raw: bytes | str) -> Any:
    """Parse one JSON value; raise Rejected(`invalid_json`) when it is not JSON.

    orjson is the judge: it also refuses lone surrogates (not Unicode) and
    nesting deeper than 1024 levels. A number that overflows a double is
    valid JSON, though (an unknown field may hold one, a duplicate key may
    replace one): Python's parser reads that value as infinity, which no
    field of ours accepts. Integers beyond 64 bits come back as floats and are
    re-read exactly where an integer field needs them (see `_Reparse`).
    """
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        if isinstance(raw, bytes) and not is_utf8(raw):
            raise Rejected("invalid_encoding", "the value is not valid UTF-8") from None
        if _OVERFLOW in str(exc):
            return _exact(raw)
        raise Rejected("invalid_json", f"not valid JSON: {exc}") from None


def _exact(raw: bytes | str) -> Any:
    # called on a value orjson accepted or found a double overflow in; Python's
    # parser has limits of its own (nesting depth, 4,300-digit integers)
    try:
        return json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise Rejected("invalid_json", f"not valid JSON: {exc}") from None


def record_type(obj: Any) -> str | None:
    """The `type` of a parsed record, None when absent; Rejected when not an object."""
    if type(obj) is not dict:
        raise Rejected("invalid_json", "expected a JSON object")
    kind = obj.get("type")
    if kind is not None and type(kind) is not str:
        raise Rejected("invalid_field", "type: expected a string")
    return kind


def _check_version(obj: dict[str, Any], exact: bool) -> None:
    version = obj.get("schema_version", SCHEMA_VERSION)
    if type(version) is not int:
        if type(version) is float and not exact:
            raise _Reparse
        raise Rejected("invalid_field", "schema_version: expected an integer")
    if version > SCHEMA_VERSION:
        raise Rejected(
            "unsupported_schema_version",
            f"schema_version {version} is newer than the supported {SCHEMA_VERSION}",
        )
    if version < SCHEMA_VERSION:
        raise Rejected("invalid_field", f"schema_version: must be 1, got {version}")


def _required(obj: dict[str, Any], name: str) -> Any:
    try:
        return obj[name]
    except KeyError:
        raise Rejected("missing_field", f"{name}: required") from None


def _string(obj: dict[str, Any], name: str, limit: int = 128) -> str:
    value = _required(obj, name)
    if type(value) is not str:
        raise Rejected("invalid_field", f"{name}: expected a string")
    if not 1 <= len(value) <= limit:
        raise Rejected("invalid_field", f"{name}: must be 1 to {limit} characters")
    return value


def _platform(obj: dict[str, Any]) -> str:
    value = _required(obj, "platform")
    if type(value) is not str or not is_platform(value):
        raise Rejected("invalid_field", f"platform: must match {PLATFORM_PATTERN}")
    return value


def _account_id(obj: dict[str, Any]) -> str:
    value = _string(obj, "account_id")
    if not is_account_id(value):
        raise Rejected("invalid_field", "account_id: must be printable, with no whitespace")
    return value


def _time(obj: dict[str, Any], name: str) -> int:
    value = _required(obj, name)
    if type(value) is not str:
        raise Rejected("invalid_field", f"{name}: expected an RFC 3339 string")
    try:
        return parse_rfc3339(value)
    except ValueError as exc:
        raise Rejected("invalid_field", f"{name}: {exc}") from None


def _optional_int(obj: dict[str, Any], name: str, exact: bool) -> int | None:
    value = obj.get(name)
    if value is None or type(value) is int:
        return value
    if type(value) is float and not exact:
        raise _Reparse
    raise Rejected("invalid_field", f"{name}: expected an integer or null")


def _check_key(key: bytes | None, platform: str, account_id: str) -> None:
    expected = record_key(platform, account_id).encode()
    if key != expected:
        if key is not None and not is_utf8(key):
            raise Rejected("invalid_encoding", "the key is not valid UTF-8")
        shown = "null" if key is None else repr(key.decode("utf-8", "replace"))
        raise Rejected(
            "key_mismatch",
            f"key {shown} does not match the value's {expected.decode()!r}",
        )


def _follower_change(
    obj: dict[str, Any], key: bytes | None, check_key: bool, exact: bool = False
) -> FollowerCountChanged:
    kind = obj.get("type")
    if kind is not None and kind != FOLLOWER_COUNT_CHANGED:
        raise Rejected("unknown_type", f"type {kind!r} is not {FOLLOWER_COUNT_CHANGED}")
    _check_version(obj, exact)
    event_id = _string(obj, "event_id")
    platform = _platform(obj)
    account_id = _account_id(obj)
    followers = _followers(obj, "followers", exact)
    _optional_int(obj, "delta", exact)
    occurred_at = _time(obj, "occurred_at")
    sequence = _optional_int(obj, "sequence", exact)
    if sequence is not None and sequence < 0:
        raise Rejected("invalid_field", "sequence: must be 0 or more")
    if check_key:
        _check_key(key, platform, account_id)
    learn(platform, obj["occurred_at"], occurred_at)
    return FollowerCountChanged(event_id, platform, account_id, followers, occurred_at, sequence)


def decode_follower_change(
    obj: Any,
    raw: bytes | str,
    key: bytes | None = None,
    *,
    check_key: bool = False,
) -> FollowerCountChanged:
    """Validate a parsed `FollowerCountChanged`; raise Rejected with the reason."""
    if type(obj) is not dict:
        raise Rejected("invalid_json", "expected a JSON object")
    try:
        return _follower_change(obj, key, check_key)
    except _Reparse:
        return _follower_change(_exact(raw), key, check_key, exact=True)


def _verification_result(
    obj: dict[str, Any], key: bytes | None, check_key: bool, exact: bool = False
) -> VerificationResult:
    kind = obj.get("type")
    if kind is not None and kind != VERIFICATION_RESULT:
        raise Rejected("unknown_type", f"type {kind!r} is not {VERIFICATION_RESULT}")
    extra = sorted(set(obj) - _RESULT_FIELDS)
    if extra:
        raise Rejected(
            "unexpected_field",
            f"fields not allowed (personal data is never accepted): {', '.join(extra)}",
            redact=tuple(extra),
        )
    _check_version(obj, exact)
    event_id = _string(obj, "event_id")
    platform = _platform(obj)
    account_id = _account_id(obj)
    status = _required(obj, "status")
    if status not in ("verified", "rejected") or type(status) is not str:
        raise Rejected("invalid_field", "status: must be 'verified' or 'rejected'")
    decided_at = _time(obj, "decided_at")
    if check_key:
        _check_key(key, platform, account_id)
    return VerificationResult(event_id, platform, account_id, status, decided_at)


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}")
_CROSSING_FIELDS = frozenset(
    {
        "type",
        "schema_version",
        "event_id",
        "platform",
        "account_id",
        "threshold",
        "direction",
        "followers",
        "previous_followers",
        "occurred_at",
        "source_event_id",
    }
)


def _followers(obj: dict[str, Any], name: str, exact: bool, optional: bool = False) -> Any:
    value = obj.get(name) if optional else _required(obj, name)
    if value is None and optional:
        return None
    if type(value) is not int:
        if type(value) is float and not exact:
            raise _Reparse
        raise Rejected("invalid_field", f"{name}: expected an integer")
    if not 0 <= value <= MAX_FOLLOWERS:
        raise Rejected("invalid_field", f"{name}: must be between 0 and 10^12")
    return value


def _threshold_crossed(
    obj: dict[str, Any], key: bytes | None, check_key: bool, exact: bool = False
) -> ThresholdCrossed:
    kind = obj.get("type")
    if kind is not None and kind != THRESHOLD_CROSSED:
        raise Rejected("unknown_type", f"type {kind!r} is not {THRESHOLD_CROSSED}")
    extra = sorted(set(obj) - _CROSSING_FIELDS)
    if extra:
        raise Rejected("unexpected_field", f"fields not allowed: {', '.join(extra)}")
    _check_version(obj, exact)
    event_id = _string(obj, "event_id")
    if _UUID.fullmatch(event_id) is None:
        raise Rejected("invalid_field", "event_id: expected a version 5 UUID")
    platform = _platform(obj)
    account_id = _account_id(obj)
    threshold = _required(obj, "threshold")
    if type(threshold) is not int or threshold <= 0:
        if type(threshold) is float and not exact:
            raise _Reparse
        raise Rejected("invalid_field", "threshold: expected a positive integer")
    direction = _required(obj, "direction")
    if type(direction) is not str or direction not in ("up", "down"):
        raise Rejected("invalid_field", "direction: must be 'up' or 'down'")
    followers = _followers(obj, "followers", exact)
    _required(obj, "previous_followers")
    previous = _followers(obj, "previous_followers", exact, optional=True)
    occurred_at = _time(obj, "occurred_at")
    source_event_id = _string(obj, "source_event_id")
    if check_key:
        _check_key(key, platform, account_id)
    return ThresholdCrossed(
        event_id,
        platform,
        account_id,
        threshold,
        direction,
        followers,
        previous,
        occurred_at,
        source_event_id,
    )


def decode_threshold_crossed(
    obj: Any,
    raw: bytes | str,
    key: bytes | None = None,
    *,
    check_key: bool = False,
) -> ThresholdCrossed:
    """Validate a parsed `ThresholdCrossed` (as the policy reads its topic);
    raise Rejected with the reason."""
    if type(obj) is not dict:
        raise Rejected("invalid_json", "expected a JSON object")
    try:
        return _threshold_crossed(obj, key, check_key)
    except _Reparse:
        return _threshold_crossed(_exact(raw), key, check_key, exact=True)


def decode_verification_result(
    obj: Any,
    raw: bytes | str,
    key: bytes | None = None,
    *,
    check_key: bool = False,
) -> VerificationResult:
    """Validate a parsed `VerificationResult`; raise Rejected with the reason."""
    if type(obj) is not dict:
        raise Rejected("invalid_json", "expected a JSON object")
    try:
        return _verification_result(obj, key, check_key)
    except _Reparse:
        return _verification_result(_exact(raw), key, check_key, exact=True)
