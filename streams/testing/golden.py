"""Compare emitted records with a golden JSONL file, with a readable diff."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import orjson

__all__ = ["assert_matches_golden", "diff_records", "normalise"]


def normalise(record: Any) -> dict[str, Any]:
    """`{"topic", "key", "value"}` from an `Emitted`, a consumed record or a dict."""
    if hasattr(record, "as_json"):
        result: dict[str, Any] = record.as_json()
        return result
    if isinstance(record, Mapping):
        return {"topic": record["topic"], "key": record.get("key"), "value": record["value"]}
    return {"topic": record.topic, "key": record.key, "value": record.value}


def _identity(record: Mapping[str, Any], n: int) -> tuple[str, str]:
    value = record["value"]
    event_id = value.get("event_id") if isinstance(value, Mapping) else None
    # dead letters have no id: they are matched by their position per topic
    return (str(record["topic"]), str(event_id) if event_id else f"#{n}")


def _keyed(records: Iterable[Any]) -> dict[tuple[str, str], dict[str, Any]]:
    out: dict[tuple[str, str], dict[str, Any]] = {}
    counters: dict[str, int] = {}
    for r in map(normalise, records):
        n = counters[r["topic"]] = counters.get(r["topic"], 0) + 1
        out.setdefault(_identity(r, n), r)  # identical redeliveries count once
    return out


def _changes(want: Mapping[str, Any], got: Mapping[str, Any]) -> list[str]:
    lines = []
    for field in sorted(set(want) | set(got)):
        if want.get(field) != got.get(field):
            lines.append(f"      {field}: expected {want.get(field)!r}, got {got.get(field)!r}")
    return lines


def diff_records(expected: Iterable[Any], actual: Iterable[Any]) -> str:
    """Missing, extra and changed records, matched by topic and `event_id`; "" when equal."""
    want, got = _keyed(expected), _keyed(actual)
    missing = [k for k in want if k not in got]
    extra = [k for k in got if k not in want]
    changed = [k for k in want if k in got and want[k] != got[k]]
    parts = []
    for title, keys, source in (("missing", missing, want), ("extra", extra, got)):
        if keys:
            parts.append(f"{len(keys)} {title}:")
            parts += [f"  {k[0]} {orjson.dumps(source[k]['value']).decode()}" for k in keys[:20]]
    if changed:
        parts.append(f"{len(changed)} changed:")
        for k in changed[:20]:
            parts.append(f"  {k[0]} {k[1]}")
            w, g = want[k], got[k]
            if w["key"] != g["key"]:
                parts.append(f"      key: expected {w['key']!r}, got {g['key']!r}")
            parts += _changes(w["value"], g["value"])
    return "\n".join(parts)


def assert_matches_golden(
    records: Iterable[Any], golden: str | os.PathLike[str], *, update: bool = False
) -> None:
    """Fail with a readable diff unless `records` match the golden JSONL file.

    With `update=True` (or `THRESHOLDS_UPDATE_GOLDEN=1`) the file is rewritten instead.
    """
    path = Path(golden)
    actual = [normalise(r) for r in records]
    if update or os.environ.get("THRESHOLDS_UPDATE_GOLDEN") == "1":
        path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in actual))
        return
    expected = [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]
    diff = diff_records(expected, actual)
    if diff:
        raise AssertionError(f"records differ from {path}:\n{diff}")
