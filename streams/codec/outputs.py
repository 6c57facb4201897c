"""Core values -> the wire values of the output topics."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from streams.codec.inputs import SCHEMA_VERSION
from streams.core.crossings import AccountState, ThresholdCrossed
from streams.core.policy import (
    PolicyOutput,
    PolicyState,
    RestrictionLifted,
    TrafficRestricted,
    VerificationCancelled,
    VerificationRequested,
)
from streams.core.timestamps import format_utc

__all__ = [
    "account_view",
    "dumps",
    "encode_account_lookup",
    "encode_crossing",
    "encode_policy_lookup",
    "encode_policy_output",
]

dumps: Callable[[Any], bytes] = orjson.dumps
"""Serialise a value for a topic (the same bytes live and in replay)."""


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


def encode_account_lookup(s: AccountState) -> dict[str, Any]:
    """The crossing state's part of an account lookup (`GET /accounts/...`)."""
    return {
        "followers": s.followers,
        "occurred_at": format_utc(s.occurred_at),
        "sequence": s.sequence,
        "above": list(s.above),
    }


def encode_policy_lookup(s: PolicyState) -> dict[str, Any]:
    """The policy state's part of an account lookup."""
    request = s.request
    return {
        "verified": s.verified,
        "request": None
        if request is None
        else {
            "request_id": request.request_id,
            "threshold": request.threshold,
            "due_at": format_utc(request.due_at),
        },
        "restricted": s.restricted,
        "restricted_since": None if s.restricted_since is None else format_utc(s.restricted_since),
    }


def account_view(
    platform: str,
    account_id: str,
    account: dict[str, Any] | None,
    policy: dict[str, Any] | None,
) -> dict[str, Any]:
    """The lookup's answer: the account's crossing state (null fields for an
    account the policy knows but whose changes this worker never saw) and its
    policy state."""
    crossing = account or {"followers": None, "occurred_at": None, "sequence": None, "above": []}
    return {"platform": platform, "account_id": account_id, **crossing, "policy": policy}
