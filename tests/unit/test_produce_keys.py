"""`thresholds produce` finds each line's key and topic as the spec says,
however the line is written: the fast reader agrees with the full one."""

from __future__ import annotations

import json

import orjson
from hypothesis import given
from hypothesis import strategies as st

from streams.kafka.client import key_and_type
from streams.kafka.produce import fast_key_and_type
from streams.testing.logs import generate_events, hostile_records, verification_result

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)


def test_the_fast_key_of_a_follower_change_is_platform_colon_account() -> None:
    line = orjson.dumps(next(generate_events(1, 1)))
    event = orjson.loads(line)
    assert fast_key_and_type(line) == (
        f"{event['platform']}:{event['account_id']}".encode(),
        None,
    )


def test_a_verification_result_is_recognised_by_its_type() -> None:
    line = orjson.dumps(verification_result("a1"))
    assert fast_key_and_type(line) == (b"weibo:a1", "VerificationResult")


def test_the_fast_reader_agrees_with_the_full_one_on_hostile_lines() -> None:
    for line in hostile_records(3000, seed=9):
        assert fast_key_and_type(line) == key_and_type(line), line


@given(st.binary(max_size=200))
def test_the_fast_reader_agrees_with_the_full_one_on_any_bytes(raw: bytes) -> None:
    assert fast_key_and_type(raw) == key_and_type(raw)


@given(
    st.fixed_dictionaries(
        {},
        optional={"platform": json_values, "account_id": json_values, "type": json_values},
    ).flatmap(lambda d: st.just(d) | st.dictionaries(st.text(), json_values).map(d.__or__))
)
def test_the_fast_reader_agrees_with_the_full_one_on_any_object(value: dict[str, object]) -> None:
    raw = json.dumps(value).encode()  # integers of any size, escaped surrogates
    assert fast_key_and_type(raw) == key_and_type(raw)


@given(
    st.lists(
        st.sampled_from(
            [
                '"platform":"weibo"',
                '"platform":1',
                '"account_id":"a1"',
                '"account_id":null',
                '"type":"VerificationResult"',
            ]
        ),
        max_size=6,
    )
)
def test_the_fast_reader_agrees_with_the_full_one_on_repeated_fields(fields: list[str]) -> None:
    raw = ("{" + ",".join(fields) + "}").encode()  # JSON leaves repeated names to the reader
    assert fast_key_and_type(raw) == key_and_type(raw)
