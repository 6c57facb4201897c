"""Wire bytes <-> core values: the only bridge between topics and the core.

inputs        input records -> core values, or Rejected with a reason
fast          the one-pass fast path for valid follower changes
outputs       core values -> output records
dead_letters  the dead-letter record
state         table values
"""

from __future__ import annotations

from streams.codec.dead_letters import dead_letter, one_line
from streams.codec.fast import decode_follower_change_fast, is_utf8
from streams.codec.inputs import (
    FOLLOWER_COUNT_CHANGED,
    SCHEMA_VERSION,
    THRESHOLD_CROSSED,
    VERIFICATION_RESULT,
    Rejected,
    decode_follower_change,
    decode_threshold_crossed,
    decode_verification_result,
    parse_json,
    record_type,
)
from streams.codec.outputs import dumps, encode_crossing, encode_policy_output
from streams.codec.state import (
    decode_account_state,
    decode_policy_state,
    encode_account_state,
    encode_policy_state,
)
from streams.core.identity import record_key

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
    "is_utf8",
    "one_line",
    "parse_json",
    "record_key",
    "record_type",
]
