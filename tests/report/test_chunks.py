"""The log cut into chunks for the report: every line read once, in order,
and a shard's timers fire where one replay fires them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from streams.config import Topics, load_rules
from streams.process.chunks import decode_chunk, owner, split
from streams.process.impact import summary, tally_scenarios
from streams.process.replay import iter_lines
from streams.testing.logs import follower_change

ROLLOUT = Path(__file__).parent.parent.parent / "streams" / "samples" / "rollout.toml"


def _write(path: Path, values: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(value) + "\n" for value in values))
    return path


@pytest.mark.parametrize("size", [1, 7, 64, 1 << 20])
def test_the_chunks_cover_the_log_and_end_after_a_newline(tmp_path: Path, size: int) -> None:
    log = tmp_path / "log.jsonl"
    data = b'{"a":1}\n\n{"b":2}\r\n{"c":\r3}\n{"d":4}'
    log.write_bytes(data)

    ranges = split(log, size)

    assert [start for start, _ in ranges] == [0, *(end for _, end in ranges[:-1])]
    assert ranges[-1][1] == len(data)
    assert all(data[end - 1 : end] == b"\n" for _, end in ranges[:-1])


@pytest.mark.parametrize("size", [1, 9, 1 << 20])
def test_chunks_count_the_lines_that_reading_the_log_line_by_line_counts(
    tmp_path: Path, size: int
) -> None:
    log = tmp_path / "log.jsonl"
    log.write_bytes(b'\xef\xbb\xbf{"a":1}\n\n  \r\n{"c":\r3}\nnot json\n{"d":4}')
    with log.open("rb") as stream:
        expected = len(list(iter_lines(stream)))

    chunks = [decode_chunk(log, start, end, 2, Topics()) for start, end in split(log, size)]

    assert sum(chunk.lines for chunk in chunks) == expected == 6
    assert sum(chunk.blank_lines for chunk in chunks) == 2
    assert sum(chunk.dead_letters for chunk in chunks) == 4


def _keys_of_two_shards() -> tuple[str, str]:
    first = "a0"
    second = next(f"b{i}" for i in range(100) if owner(f"weibo:b{i}", 2) != owner("weibo:a0", 2))
    return first, second


@pytest.mark.parametrize(("shards", "size"), [(1, 1 << 20), (2, 1 << 20), (2, 1)])
def test_a_deadline_passed_at_another_shards_line_fires_before_the_accounts_late_event(
    tmp_path: Path, shards: int, size: int
) -> None:
    account, other = _keys_of_two_shards()
    log = _write(
        tmp_path / "log.jsonl",
        [
            follower_change(account, 1_200_000, "2023-11-02T00:00:00Z"),
            # another shard's account moves the clock past the request's deadline
            follower_change(other, 10, "2023-12-05T00:00:00Z"),
            # late, but after the account's last event: applied, on the clock above
            follower_change(account, 100, "2023-11-03T00:00:00Z"),
        ],
    )

    tally = tally_scenarios(log, [load_rules(ROLLOUT)], Topics(), shards, size)[0]

    policy = summary([("rollout", tally)])["scenarios"][0]["policy"]
    assert policy["VerificationRequested"] == 1
    assert policy["TrafficRestricted"] == 1
    assert policy["VerificationCancelled"] == 0
