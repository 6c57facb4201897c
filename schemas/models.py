"""Pydantic v2 models of every topic value: the wire contract.

Parsing is strict: a bool is not an int, `500000.0` is not an int, and a
timestamp without an offset is refused. The JSON Schemas under `schemas/json/`
are exported from these models.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StrictInt,
    StrictStr,
    WithJsonSchema,
)

from streams.core.identity import PLATFORM_PATTERN, is_account_id
from streams.core.timestamps import format_utc, parse_rfc3339, to_datetime

__all__ = [
    "MODELS",
    "DeadLetter",
    "FollowerCountChanged",
    "RestrictionLifted",
    "ThresholdCrossed",
    "TrafficRestricted",
    "VerificationCancelled",
    "VerificationRequested",
    "VerificationResult",
    "parse_value",
]

_RFC3339_PATTERN = r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$"


def _parse_time(value: Any) -> datetime:
    if type(value) is not str:
        raise ValueError("expected an RFC 3339 date-time string with an offset")
    return to_datetime(parse_rfc3339(value))


def _format_time(value: datetime) -> str:
    delta = value - to_datetime(0)
    return format_utc((delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds)


Timestamp = Annotated[
    datetime,
    BeforeValidator(_parse_time),
    PlainSerializer(_format_time, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": _RFC3339_PATTERN}),
]
"""RFC 3339 with an offset on input; UTC `...Z` on output."""

EventId = Annotated[StrictStr, Field(min_length=1, max_length=128)]
Platform = Annotated[StrictStr, Field(pattern=PLATFORM_PATTERN)]
Threshold = Annotated[StrictInt, Field(gt=0)]
Followers = Annotated[StrictInt, Field(ge=0, le=10**12)]
Uuid = Annotated[
    StrictStr, Field(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$")
]


def _check_account_id(value: Any) -> Any:
    if type(value) is str and not is_account_id(value):
        raise ValueError("must be printable, with no whitespace")
    return value


AccountId = Annotated[
    StrictStr,
    Field(min_length=1, max_length=128, pattern=r"^\S+$"),
    BeforeValidator(_check_account_id),
]


def _no_bool(value: Any) -> Any:
    if type(value) is bool:
        raise ValueError("a bool is not a schema version")
    return value


SchemaVersion = Annotated[Literal[1], BeforeValidator(_no_bool)]
"""Always 1; `true` (equal to 1 in Python) is refused like any other non-integer."""


class _Record(BaseModel):
    model_config = ConfigDict(strict=True, frozen=True, extra="forbid")


class _AccountOutput(_Record):
    """Fields every emitted record about an account carries, after its `type`."""

    schema_version: SchemaVersion = 1
    event_id: Uuid
    platform: Platform
    account_id: AccountId


class FollowerCountChanged(_Record):
    """Input on `follower-changes`: an account's follower count after a change."""

    model_config = ConfigDict(strict=True, frozen=True, extra="ignore")

    type: Literal["FollowerCountChanged"] = "FollowerCountChanged"
    schema_version: SchemaVersion = 1
    event_id: EventId
    platform: Platform
    account_id: AccountId
    followers: Followers
    delta: StrictInt | None = None
    occurred_at: Timestamp
    sequence: Annotated[StrictInt, Field(ge=0)] | None = None


class VerificationResult(_Record):
    """Input on `verification-results`; any extra field is refused (no personal data)."""

    type: Literal["VerificationResult"] = "VerificationResult"
    schema_version: SchemaVersion = 1
    event_id: EventId
    platform: Platform
    account_id: AccountId
    status: Literal["verified", "rejected"]
    decided_at: Timestamp


class ThresholdCrossed(_AccountOutput):
    """Output on `threshold-crossings`."""

    type: Literal["ThresholdCrossed"] = "ThresholdCrossed"
    threshold: Threshold
    direction: Literal["up", "down"]
    followers: Followers
    previous_followers: Followers | None
    occurred_at: Timestamp
    source_event_id: EventId


class VerificationRequested(_AccountOutput):
    """Output on `verification-requests`: verify by `due_at`."""

    type: Literal["VerificationRequested"] = "VerificationRequested"
    threshold: Threshold
    requested_at: Timestamp
    due_at: Timestamp
    cause_event_id: Uuid | None


class VerificationCancelled(_AccountOutput):
    """Output on `verification-requests`: an open request no longer applies."""

    type: Literal["VerificationCancelled"] = "VerificationCancelled"
    request_id: Uuid
    cancelled_at: Timestamp
    reason: Literal["below_threshold"]


class TrafficRestricted(_AccountOutput):
    """Output on `account-restrictions`: the deadline passed unverified."""

    type: Literal["TrafficRestricted"] = "TrafficRestricted"
    request_id: Uuid
    restrictions: list[Literal["traffic", "income"]]
    restricted_at: Timestamp
    reason: Literal["verification_overdue"]


class RestrictionLifted(_AccountOutput):
    """Output on `account-restrictions`: a restriction ends."""

    type: Literal["RestrictionLifted"] = "RestrictionLifted"
    lifted_at: Timestamp
    reason: Literal["verified", "below_threshold"]


class DeadLetter(_Record):
    """Output on `<input>-dlq`: the whole original record and why it was refused."""

    type: Literal["DeadLetter"] = "DeadLetter"
    schema_version: SchemaVersion = 1
    topic: StrictStr
    partition: StrictInt | None
    offset: StrictInt | None
    key: StrictStr | None
    key_encoding: Literal["base64"] | None = None
    value: StrictStr | None
    value_encoding: Literal["utf-8", "base64"]
    redacted_fields: list[StrictStr] | None = None
    reason: Annotated[StrictStr, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    detail: StrictStr


MODELS: dict[str, type[_Record]] = {
    m.__name__: m
    for m in (
        FollowerCountChanged,
        VerificationResult,
        ThresholdCrossed,
        VerificationRequested,
        VerificationCancelled,
        TrafficRestricted,
        RestrictionLifted,
        DeadLetter,
    )
}


def parse_value(value: dict[str, Any]) -> BaseModel:
    """Validate an emitted or input value with the model its `type` names."""
    model = MODELS.get(str(value.get("type", "FollowerCountChanged")))
    if model is None:
        raise ValueError(f"unknown type {value.get('type')!r}")
    return model.model_validate(value)
