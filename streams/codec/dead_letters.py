"""The dead-letter record: the whole original record, and why it was refused."""

from __future__ import annotations

import base64
from typing import Any

from streams.codec.inputs import SCHEMA_VERSION, Rejected
from streams.codec.outputs import dumps

__all__ = ["dead_letter", "one_line"]


def _text_or_base64(data: bytes) -> tuple[str, str]:
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return base64.b64encode(data).decode("ascii"), "base64"


def dead_letter(
    *,
    topic: str,
    partition: int | None,
    offset: int | None,
    key: bytes | None,
    value: bytes | None,
    rejected: Rejected,
    parsed: Any = None,
) -> dict[str, Any]:
    """The wire value of a dead letter: the whole original record, and why.

    Fields named in `rejected.redact` are dropped from the kept value (and
    listed in `redacted_fields`): personal data is stored nowhere.
    """
    if rejected.redact and type(parsed) is dict:
        value = dumps({k: v for k, v in parsed.items() if k not in rejected.redact})
    letter: dict[str, Any] = {
        "type": "DeadLetter",
        "schema_version": SCHEMA_VERSION,
        "topic": topic,
        "partition": partition,
        "offset": offset,
        "key": None,
    }
    if key is not None:
        letter["key"], key_encoding = _text_or_base64(key)
        if key_encoding != "utf-8":
            letter["key_encoding"] = key_encoding
    if value is None:
        letter["value"], letter["value_encoding"] = None, "utf-8"
    else:
        letter["value"], letter["value_encoding"] = _text_or_base64(value)
    if rejected.redact:
        letter["redacted_fields"] = list(rejected.redact)
    letter["reason"] = rejected.reason
    letter["detail"] = one_line(rejected.detail)
    return letter


def one_line(text: str) -> str:
    """`text` with every unprintable character escaped, so it stays one line
    (a detail may quote a field name or key taken from the record)."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
