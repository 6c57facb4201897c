"""Core values -> the wire values of the output topics."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from streams.codec.inputs import SCHEMA_VERSION
from streams.core.crossings import ThresholdCrossed
from streams.core.policy import (
    PolicyOutput,
    RestrictionLifted,
    TrafficRestricted,
    VerificationCancelled,
    VerificationRequested,
)
from streams.core.timestamps import format_utc

__all__ = ["dumps", "encode_crossing", "encode_policy_output"]

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
