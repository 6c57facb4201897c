"""Who an account is: the platform and account-id rules, and the record key.

The one home of these rules: the decoders, the configuration, the published
models and every producer of keys use them.
"""

from __future__ import annotations

import re

__all__ = ["PLATFORM_PATTERN", "is_account_id", "is_platform", "record_key"]

PLATFORM_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,31}$"
"""A platform name, matched against the whole string."""

_PLATFORM = re.compile(PLATFORM_PATTERN[1:-1])
MAX_ACCOUNT_ID = 128


def is_platform(value: str) -> bool:
    """Whether `value` is a platform name (`weibo`, `douyin`, ...)."""
    return _PLATFORM.fullmatch(value) is not None


def is_account_id(value: str) -> bool:
    """1-128 characters, every one printable and none whitespace."""
    # U+0020 is the only character both printable and whitespace in Python
    return 1 <= len(value) <= MAX_ACCOUNT_ID and value.isprintable() and " " not in value


def record_key(platform: str, account_id: str) -> str:
    """The topic key of an account: `{platform}:{account_id}`."""
    return f"{platform}:{account_id}"
