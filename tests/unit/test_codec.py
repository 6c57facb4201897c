"""Decoding inputs exactly as the spec's edge rules say."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from streams.codec import (
    Rejected,
    dead_letter,
    decode_follower_change,
    decode_follower_change_fast,
    decode_verification_result,
    parse_json,
)

GOOD: dict[str, Any] = {
    "event_id": "e1",
    "platform": "weibo",
    "account_id": "a1",
    "followers": 500_000,
    "occurred_at": "2023-11-01T08:00:00+08:00",
}


def decode(change: dict[str, Any], key: bytes | None = None, check_key: bool = False) -> Any:
    raw = orjson.dumps(change)
    return decode_follower_change(parse_json(raw), raw, key, check_key=check_key)


def reason_of(change: dict[str, Any]) -> str:
    with pytest.raises(Rejected) as info:
        decode(change)
    return info.value.reason


def test_a_minimal_event_is_accepted_and_its_time_normalised_to_utc() -> None:
    event = decode(GOOD)

    assert event.occurred_at == 1698796800 * 1_000_000


def test_a_missing_schema_version_means_1() -> None:
    assert decode({**GOOD}).followers == 500_000


def test_a_higher_schema_version_is_unsupported() -> None:
    assert reason_of({**GOOD, "schema_version": 2}) == "unsupported_schema_version"


@pytest.mark.parametrize("followers", [500000.0, 1e6, "600000", True, None, -1, 10**12 + 1])
def test_followers_must_be_a_json_integer_in_range(followers: object) -> None:
    assert reason_of({**GOOD, "followers": followers}) == "invalid_field"


def test_10_to_the_12_followers_is_accepted() -> None:
    assert decode({**GOOD, "followers": 10**12}).followers == 10**12


@pytest.mark.parametrize("sequence", [1.0, "1", True, -1])
def test_sequence_must_be_a_non_negative_json_integer(sequence: object) -> None:
    assert reason_of({**GOOD, "sequence": sequence}) == "invalid_field"


def test_a_sequence_beyond_64_bits_is_read_exactly() -> None:
    raw = (
        b'{"event_id":"e","platform":"weibo","account_id":"a","followers":1,'
        b'"occurred_at":"2023-11-01T00:00:00Z","sequence":100000000000000000000000000}'
    )

    event = decode_follower_change(parse_json(raw), raw)

    assert event.sequence == 10**26


@pytest.mark.parametrize(
    "field", ["event_id", "platform", "account_id", "followers", "occurred_at"]
)
def test_every_required_field_is_required(field: str) -> None:
    change = {k: v for k, v in GOOD.items() if k != field}

    assert reason_of(change) == "missing_field"


@pytest.mark.parametrize(
    "occurred_at",
    [
        "2023-11-01T08:00:00",
        "2023-11-01",
        1698796800,
        "2023-11-01 08:00:00Z",
        "2023-02-30T00:00:00Z",
        "2023-11-01T24:00:00Z",
        "2023-11-01T08:00:00.1234567890Z",
    ],
)
def test_occurred_at_must_be_rfc3339_with_an_offset(occurred_at: object) -> None:
    assert reason_of({**GOOD, "occurred_at": occurred_at}) == "invalid_field"


def test_lowercase_t_and_z_and_nine_fraction_digits_are_kept_to_the_microsecond() -> None:
    event = decode({**GOOD, "occurred_at": "2023-11-01t00:00:00.123456789z"})

    assert event.occurred_at == 1698796800 * 1_000_000 + 123456


@pytest.mark.parametrize("platform", ["Weibo", "weibo\n", "-weibo", "", "a" * 33, 7])
def test_platform_must_match_the_whole_pattern(platform: object) -> None:
    assert reason_of({**GOOD, "platform": platform}) == "invalid_field"


@pytest.mark.parametrize("account_id", ["a b", "a\tb", "a\u3000b", "", "x" * 129, "a\x00"])
def test_account_id_is_printable_without_whitespace(account_id: str) -> None:
    assert reason_of({**GOOD, "account_id": account_id}) == "invalid_field"


def test_unknown_extra_fields_are_ignored() -> None:
    assert decode({**GOOD, "colour": "blue"}).followers == 500_000


def test_a_number_beyond_a_double_in_an_unknown_field_is_ignored_as_the_field_is() -> None:
    raw = orjson.dumps(GOOD)[:-1] + b',"score":-1e400}'

    assert decode_follower_change(parse_json(raw), raw).followers == 500_000


def test_followers_beyond_a_double_are_an_invalid_field() -> None:
    raw = orjson.dumps(GOOD).replace(b"500000", b"5e400")

    with pytest.raises(Rejected) as info:
        decode_follower_change(parse_json(raw), raw)

    assert info.value.reason == "invalid_field"


@pytest.mark.parametrize("raw", [b"not json", b'{"followers": NaN}', b"{", b'"\\ud800"'])
def test_what_is_not_json_is_invalid_json(raw: bytes) -> None:
    with pytest.raises(Rejected) as info:
        parse_json(raw)

    assert info.value.reason == "invalid_json"


@pytest.mark.parametrize(
    "raw",
    [
        b"\xff\xfe",
        b'{"event_id": "a\xff", "platform": "weibo"}',
        b'{"account_id": "\xed\xa0\x80"}',  # a surrogate encoded as bytes
        b'{"a": "\xc3"}',  # a truncated sequence inside a string
    ],
)
def test_invalid_utf8_anywhere_in_a_value_is_invalid_encoding(raw: bytes) -> None:
    with pytest.raises(Rejected) as info:
        parse_json(raw)

    assert info.value.reason == "invalid_encoding"


@pytest.mark.parametrize(
    "field",
    [
        {"event_id": "a-b"},
        {"colour": "a-b"},  # an unknown field's value: msgspec skips it unread
        {"a-b": "blue"},  # an unknown field's name
    ],
)
def test_invalid_utf8_in_an_otherwise_valid_event_is_not_taken_by_the_fast_path(
    field: dict[str, str],
) -> None:
    valid = orjson.dumps({**GOOD, "occurred_at": "2023-11-01T00:00:00Z", **field})
    decode(orjson.loads(valid))  # now the fast path knows the platform and the minute
    assert decode_follower_change_fast(valid) is not None
    raw = valid.replace(b"a-b", b"a\x92b")

    assert decode_follower_change_fast(raw) is None
    with pytest.raises(Rejected) as info:
        parse_json(raw)
    assert info.value.reason == "invalid_encoding"


def test_a_key_that_is_not_utf8_is_invalid_encoding() -> None:
    raw = orjson.dumps(GOOD)

    with pytest.raises(Rejected) as info:
        decode_follower_change(orjson.loads(raw), raw, b"weibo:\xff", check_key=True)

    assert info.value.reason == "invalid_encoding"


def test_a_json_value_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(Rejected) as info:
        decode_follower_change([1, 2], b"[1,2]")

    assert info.value.reason == "invalid_json"


def test_a_key_that_does_not_match_platform_and_account_is_a_key_mismatch() -> None:
    with pytest.raises(Rejected) as info:
        decode(GOOD, key=b"weibo:other", check_key=True)

    assert info.value.reason == "key_mismatch"


def test_a_matching_key_is_accepted() -> None:
    assert decode(GOOD, key=b"weibo:a1", check_key=True).account_id == "a1"


RESULT: dict[str, Any] = {
    "type": "VerificationResult",
    "event_id": "v1",
    "platform": "weibo",
    "account_id": "a1",
    "status": "verified",
    "decided_at": "2023-11-20T09:00:00Z",
    "schema_version": 1,
}


def test_a_verification_result_with_a_name_is_refused_as_unexpected_field() -> None:
    raw = orjson.dumps({**RESULT, "real_name": "Zhang San"})

    with pytest.raises(Rejected) as info:
        decode_verification_result(parse_json(raw), raw)

    assert info.value.reason == "unexpected_field"
    assert "Zhang San" not in info.value.detail


def test_a_dead_letter_never_keeps_the_personal_data_it_refused() -> None:
    raw = orjson.dumps({**RESULT, "id_number": "110101199003074258"})
    parsed = parse_json(raw)
    with pytest.raises(Rejected) as info:
        decode_verification_result(parsed, raw)

    letter = dead_letter(
        topic="verification-results",
        partition=0,
        offset=3,
        key=b"weibo:a1",
        value=raw,
        rejected=info.value,
        parsed=parsed,
    )

    assert "110101199003074258" not in orjson.dumps(letter).decode()
    assert letter["redacted_fields"] == ["id_number"]


def test_a_verification_status_other_than_verified_or_rejected_is_invalid() -> None:
    raw = orjson.dumps({**RESULT, "status": "maybe"})

    with pytest.raises(Rejected) as info:
        decode_verification_result(parse_json(raw), raw)

    assert info.value.reason == "invalid_field"


def test_a_dead_letter_keeps_a_value_that_is_not_utf8_as_base64() -> None:
    letter = dead_letter(
        topic="follower-changes",
        partition=1,
        offset=9,
        key=None,
        value=b"\xff\x00",
        rejected=Rejected("invalid_json", "x"),
    )

    assert (letter["value"], letter["value_encoding"]) == ("/wA=", "base64")
