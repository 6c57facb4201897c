"""The fast path: a valid `FollowerCountChanged` decoded in one msgspec pass.

It declines (returns None) whatever is unusual, and the full decoder in
`streams.codec.inputs` then decides; a property test and the fuzzer hold the
two to the same answers. The full decoder teaches it the platforms and the
minutes it has seen valid (`learn`), so it checks those with a set lookup.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

import msgspec

from streams.core.crossings import FollowerCountChanged

__all__ = ["MAX_FOLLOWERS", "decode_follower_change_fast", "is_utf8", "learn"]

MAX_FOLLOWERS = 10**12


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


def is_utf8(data: bytes) -> bool:
    """Whether `data` is valid UTF-8 as a whole."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def learn(platform: str, occurred_at: str, micros: int) -> None:
    """Remember a platform and a UTC minute that the full decoder accepted."""
    _valid_platforms.add(platform)
    if len(_minute_us) > 100_000:
        _minute_us.clear()
    if occurred_at[-1] in "Zz":
        seconds_part = micros % 60_000_000
        _minute_us[occurred_at[:16]] = micros - seconds_part


def decode_follower_change_fast(raw: bytes) -> FollowerCountChanged | None:
    """A valid `FollowerCountChanged` decoded in one pass, or None when the
    record needs the full decoder (invalid, unusual, or not this type).

    Whatever it returns equals what `decode_follower_change` returns; a
    property test holds it to that.
    """
    if not raw.isascii() and not is_utf8(raw):
        # msgspec skips unknown fields unread, names included: invalid UTF-8
        # there would pass; the full decoder makes it `invalid_encoding`
        return None
    try:
        w = _decode_wire_change(raw)
    except (msgspec.ValidationError, msgspec.DecodeError, UnicodeDecodeError):
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
