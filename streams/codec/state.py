"""Table values: the crossing and policy state of an account, compact."""

from __future__ import annotations

import json

import msgspec
import orjson

from streams.core.crossings import AccountState
from streams.core.policy import OpenRequest, PolicyState

__all__ = [
    "decode_account_state",
    "decode_policy_state",
    "encode_account_state",
    "encode_policy_state",
]


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
        [
            s.above,
            s.verified,
            request,
            s.restricted,
            s.counts,
            partition,
            offsets,
            s.restricted_since,
        ]
    )


def decode_policy_state(data: bytes) -> tuple[PolicyState, int, tuple[int, int]]:
    """The inverse of `encode_policy_state`: (state, partition, offsets); also
    reads the seven-field values of earlier versions (no `restricted_since`)."""
    above, verified, request, restricted, counts, partition, offsets, *since = orjson.loads(data)
    state = PolicyState(
        tuple(above),
        verified,
        None if request is None else OpenRequest(*request),
        restricted,
        (counts[0], counts[1], counts[2], counts[3]),
        since[0] if since else None,
    )
    return state, partition, (offsets[0], offsets[1])
