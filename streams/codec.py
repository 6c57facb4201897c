"""Wire bytes <-> core values: the only bridge between topics and the core.

Decoding is hand-written over orjson because it runs once per input record;
`schemas/` holds the same contract as pydantic models, and a property test
checks that both accept and refuse the same records.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from typing import Annotated, Any, Literal

import msgspec
import orjson

from streams.core.crossings import AccountState, FollowerCountChanged, ThresholdCrossed
from streams.core.policy import (
    OpenRequest,
    PolicyOutput,
    PolicyState,
    RestrictionLifted,
    TrafficRestricted,
    VerificationCancelled,
    VerificationRequested,
    VerificationResult,
)
from streams.timestamps import format_utc, parse_rfc3339

__all__ = [
    "FOLLOWER_COUNT_CHANGED",
    "SCHEMA_VERSION",
    "THRESHOLD_CROSSED",
    "VERIFICATION_RESULT",
    "Rejected",
    "dead_letter",
    "decode_account_state",
    "decode_follower_change",
    "decode_follower_change_fast",
    "decode_policy_state",
    "decode_threshold_crossed",
    "decode_verification_result",
    "dumps",
    "encode_account_state",
    "encode_crossing",
    "encode_policy_output",
    "encode_policy_state",
    "one_line",
    "parse_json",
    "record_key",
    "record_type",
]

SCHEMA_VERSION = 1
FOLLOWER_COUNT_CHANGED = "FollowerCountChanged"
VERIFICATION_RESULT = "VerificationResult"
THRESHOLD_CROSSED = "ThresholdCrossed"
MAX_FOLLOWERS = 10**12
_PLATFORM = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
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

dumps: Callable[[Any], bytes] = orjson.dumps


class _WireChange(msgspec.Struct, gc=False):
    """The shape of a valid `FollowerCountChanged`, for the fast path only.

    Lengths and bounds are checked in C by msgspec; patterns are not (msgspec
    runs them through `re`, slower than the set lookup and tail match below).
    """

    event_id: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
    platform: str
    account_id: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
    followers: Annotated[int, msgspec.Meta(ge=0, le=MAX_FOLLOWERS)]
    occurred_at: str
    delta: int | None = None
    sequence: Annotated[int, msgspec.Meta(ge=0)] | None = None
    schema_version: Literal[1] = 1
    type: Literal["FollowerCountChanged"] | None = None


_decode_wire_change = msgspec.json.Decoder(_WireChange).decode
_tuple_new = tuple.__new__  # skips NamedTuple's slow Python-level __new__
_valid_platforms: set[str] = set()
_minute_us: dict[str, int] = {}  # "YYYY-MM-DDTHH:MM" -> UTC microseconds


_SECONDS_TAIL = re.compile(r":([0-5]\d)(?:\.(\d{1,9}))?[Zz]")


def _remember_minute(text: str, micros: int) -> None:
    if len(_minute_us) > 100_000:
        _minute_us.clear()
    if text[-1] in "Zz":
        seconds_part = micros % 60_000_000
        _minute_us[text[:16]] = micros - seconds_part


def decode_follower_change_fast(raw: bytes) -> FollowerCountChanged | None:
    """A valid `FollowerCountChanged` decoded in one pass, or None when the
    record needs the full decoder (invalid, unusual, or not this type).

    Whatever it returns equals what `decode_follower_change` returns; a
    property test holds it to that.
    """
    try:
        w = _decode_wire_change(raw)
    except (msgspec.ValidationError, msgspec.DecodeError, UnicodeDecodeError):
        # msgspec raises UnicodeDecodeError for invalid UTF-8 inside a string;
        # the full decoder turns it into an `invalid_encoding` dead letter
        return None
    account_id = w.account_id
    if w.platform not in _valid_platforms or not account_id.isprintable() or " " in account_id:
        return None
    text = w.occurred_at
    base = _minute_us.get(text[:16])
    if base is None:
        return None
    if len(text) == 27 and text[19] == "." and text[16] == ":" and text[26] in "Zz":
        # the common `SS.ffffff` form: one int() over the seconds and fraction
        digits = text[17:19] + text[20:26]
        if not (digits.isascii() and digits.isdigit() and digits < "6"):
            return None
        micros = base + int(digits)
    else:
        match = _SECONDS_TAIL.fullmatch(text, 16)
        if match is None:
            return None
        second, fraction = match.groups()
        micros = base + int(second) * 1_000_000
        if fraction is not None:
            micros += int((fraction + "00000")[:6])
    return _tuple_new(
        FollowerCountChanged,
        (w.event_id, w.platform, account_id, w.followers, micros, w.sequence),
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


def record_key(platform: str, account_id: str) -> str:
    """The topic key of an account: `{platform}:{account_id}`."""
    return f"{platform}:{account_id}"


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def parse_json(raw: bytes | str) -> Any:
    """Parse one JSON value; raise Rejected(`invalid_json`) when it is not JSON.

    orjson is the judge: it also refuses lone surrogates (not Unicode), numbers
    that overflow a double, and nesting deeper than 1024 levels. Integers
    beyond 64 bits come back as floats and are re-read exactly where an
    integer field needs them (see `_Reparse`).
    """
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        if isinstance(raw, bytes) and not _is_utf8(raw):
            raise Rejected("invalid_encoding", "the value is not valid UTF-8") from None
        raise Rejected("invalid_json", f"not valid JSON: {exc}") from None


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _exact(raw: bytes | str) -> Any:
    # only ever called on a value orjson accepted, but Python's parser has
    # limits of its own (nesting depth, 4,300-digit integers)
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
    if type(value) is not str or _PLATFORM.fullmatch(value) is None:
        raise Rejected("invalid_field", "platform: must match ^[a-z0-9][a-z0-9_-]{0,31}$")
    return value


def _account_id(obj: dict[str, Any]) -> str:
    value = _string(obj, "account_id")
    # U+0020 is the only character both printable and whitespace in Python
    if not value.isprintable() or " " in value:
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
        if key is not None and not _is_utf8(key):
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
    _valid_platforms.add(platform)
    _remember_minute(obj["occurred_at"], occurred_at)
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


def encode_crossing(c: ThresholdCrossed) -> dict[str, Any]:
    """The wire value of a crossing."""
    return {
        "type": "ThresholdCrossed",
        "schema_version": SCHEMA_VERSION,
        "event_id": c.event_id,
        "platform": c.platform,
        "account_id": c.account_id,
        "threshold": c.threshold,
        "direction": c.direction,
        "followers": c.followers,
        "previous_followers": c.previous_followers,
        "occurred_at": format_utc(c.occurred_at),
        "source_event_id": c.source_event_id,
    }


def encode_policy_output(o: PolicyOutput) -> dict[str, Any]:
    """The wire value of a verification request, cancellation, restriction or lift."""
    head: dict[str, Any] = {
        "type": type(o).__name__,
        "schema_version": SCHEMA_VERSION,
        "event_id": o.event_id,
        "platform": o.platform,
        "account_id": o.account_id,
    }
    if isinstance(o, VerificationRequested):
        head["threshold"] = o.threshold
        head["requested_at"] = format_utc(o.requested_at)
        head["due_at"] = format_utc(o.due_at)
        head["cause_event_id"] = o.cause_event_id
    elif isinstance(o, VerificationCancelled):
        head["request_id"] = o.request_id
        head["cancelled_at"] = format_utc(o.cancelled_at)
        head["reason"] = o.reason
    elif isinstance(o, TrafficRestricted):
        head["request_id"] = o.request_id
        head["restrictions"] = list(o.restrictions)
        head["restricted_at"] = format_utc(o.restricted_at)
        head["reason"] = o.reason
    elif isinstance(o, RestrictionLifted):
        head["lifted_at"] = format_utc(o.lifted_at)
        head["reason"] = o.reason
    return head


def _text_or_base64(data: bytes) -> tuple[str, str]:
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return base64.b64encode(data).decode("ascii"), "base64"


def dead_letter(
    *,
    topic: str,
    partition: int | None,
    offset: int | None,
    key: bytes | None,
    value: bytes | None,
    rejected: Rejected,
    parsed: Any = None,
) -> dict[str, Any]:
    """The wire value of a dead letter: the whole original record, and why.

    Fields named in `rejected.redact` are dropped from the kept value (and
    listed in `redacted_fields`): personal data is stored nowhere.
    """
    if rejected.redact and type(parsed) is dict:
        value = dumps({k: v for k, v in parsed.items() if k not in rejected.redact})
    letter: dict[str, Any] = {
        "type": "DeadLetter",
        "schema_version": SCHEMA_VERSION,
        "topic": topic,
        "partition": partition,
        "offset": offset,
        "key": None,
    }
    if key is not None:
        letter["key"], key_encoding = _text_or_base64(key)
        if key_encoding != "utf-8":
            letter["key_encoding"] = key_encoding
    if value is None:
        letter["value"], letter["value_encoding"] = None, "utf-8"
    else:
        letter["value"], letter["value_encoding"] = _text_or_base64(value)
    if rejected.redact:
        letter["redacted_fields"] = list(rejected.redact)
    letter["reason"] = rejected.reason
    letter["detail"] = one_line(rejected.detail)
    return letter


def one_line(text: str) -> str:
    """`text` with every unprintable character escaped, so it stays one line
    (a detail may quote a field name or key taken from the record)."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


# Table values live as long as the account: encode them with msgspec, whose
# bytes are sized to fit. orjson's carry a ~4 KB buffer each (measured with
# tracemalloc: 4 KB per tracked account), fine for records sent and dropped.
_encode_stored = msgspec.json.encode


_encode_msgpack = msgspec.msgpack.encode
_decode_msgpack = msgspec.msgpack.decode


def encode_account_state(s: AccountState) -> bytes:
    """The compact table value of a crossing state: a MessagePack array, ~20-40
    bytes (JSON took twice that, and one value is kept per tracked account).

    A `sequence` beyond 64 bits (the contract sets no upper bound) does not fit
    MessagePack: that state is written as a JSON array instead, read back exactly.
    """
    fields = [
        s.followers,
        s.sequence,
        s.occurred_at,
        s.offset,
        s.above,
        [x for c in s.counts for x in c],
    ]
    try:
        return _encode_msgpack(fields)
    except OverflowError:
        return json.dumps(fields, separators=(",", ":")).encode()


def decode_account_state(data: bytes) -> AccountState:
    """The inverse of `encode_account_state`; also reads the JSON arrays that
    earlier versions wrote, so their changelogs restore after an upgrade."""
    # a JSON array starts with "["; a MessagePack one never does (0x90-0x9f, 0xdc, 0xdd)
    # json.loads, not orjson: exact for integers of any size
    fields = json.loads(data) if data[:1] == b"[" else _decode_msgpack(data)
    followers, sequence, occurred_at, offset, above, flat = fields
    counts = tuple((flat[i], flat[i + 1], flat[i + 2]) for i in range(0, len(flat), 3))
    return AccountState(followers, sequence, occurred_at, offset, tuple(above), counts)


def encode_policy_state(s: PolicyState, partition: int, offsets: tuple[int, int]) -> bytes:
    """The table value of a policy state, with its partition and the offsets of the
    last crossing and result applied (for skipping redeliveries)."""
    request = None if s.request is None else list(s.request)
    return _encode_stored(
        [s.above, s.verified, request, s.restricted, s.counts, partition, offsets]
    )


def decode_policy_state(data: bytes) -> tuple[PolicyState, int, tuple[int, int]]:
    """The inverse of `encode_policy_state`: (state, partition, offsets)."""
    above, verified, request, restricted, counts, partition, offsets = orjson.loads(data)
    state = PolicyState(
        tuple(above),
        verified,
        None if request is None else OpenRequest(*request),
        restricted,
        (counts[0], counts[1], counts[2], counts[3]),
    )
    return state, partition, (offsets[0], offsets[1])
