"""The wire contract: pydantic models of every topic value, and their JSON Schemas."""

from schemas.models import (
    MODELS,
    DeadLetter,
    FollowerCountChanged,
    RestrictionLifted,
    ThresholdCrossed,
    TrafficRestricted,
    VerificationCancelled,
    VerificationRequested,
    VerificationResult,
    parse_value,
)

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
