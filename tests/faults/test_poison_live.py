"""Good, poison, good for one account on a live worker: every poison record is
a dead letter, the good ones cross exactly as replay says, and the worker
keeps processing."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from streams.core.rules import Rules
from streams.kafka.client import changelog_topics
from streams.kafka.verify import compare, expected_from_log
from streams.testing.harness import Harness
from tests.fuzz.poison import change_poison, crossing_poison, result_poison


def good(i: int, followers: int, account: str = "a1", **extra: object) -> bytes:
    return json.dumps(  # the standard library writes integers of any size
        {
            "event_id": f"g{i}",
            "platform": "weibo",
            "account_id": account,
            "followers": followers,
            "occurred_at": f"2023-11-01T00:{i // 60:02d}:{i % 60:02d}Z",
            **extra,
        }
    ).encode()


def original(letter: dict[str, object]) -> bytes | None:
    value = letter["value"]
    if value is None:
        return None
    assert isinstance(value, str)
    if letter["value_encoding"] == "base64":
        return base64.b64decode(value)
    return value.encode()


def test_poison_between_good_records_is_dead_lettered_and_the_good_ones_cross(
    thresholds_harness: Harness, tmp_path: Path
) -> None:
    h, key = thresholds_harness, b"weibo:a1"
    t = h.topics
    poison = change_poison(key)
    records: list[tuple[bytes | None, bytes | None]] = []
    goods: list[bytes] = []
    for i, (_, k, v, _) in enumerate(poison):
        line = good(i, 600_000 if i % 2 == 0 else 400_000)  # every good one crosses
        goods.append(line)
        records += [(key, line), (k, v)]
    # valid, though its sequence does not fit 64 bits
    goods.append(good(len(poison), 1_200_000, account="big", sequence=2**70))
    records.append((b"weibo:big", goods[-1]))
    log = tmp_path / "good.jsonl"
    log.write_bytes(b"".join(line + b"\n" for line in goods))
    worker = h.start_worker()

    h.send_raw(t.follower_changes, records)
    h.send_raw(t.verification_results, [(k, v) for _, k, v, _ in result_poison(key)])
    h.send_raw(t.threshold_crossings, [(k, v) for _, k, v, _ in crossing_poison(key)])
    h.wait_processed(timeout=60)

    letters = [r.value for r in h.read(f"{t.follower_changes}-dlq")]
    assert [(original(x), x["reason"]) for x in letters] == [(v, r) for _, _, v, r in poison]
    result_letters = h.read(f"{t.verification_results}-dlq")
    assert [r.value["reason"] for r in result_letters] == [r for *_, r in result_poison(key)]
    crossing_letters = h.read(f"{t.threshold_crossings}-dlq")
    assert [r.value["reason"] for r in crossing_letters] == [r for *_, r in crossing_poison(key)]
    expected = expected_from_log(log, Rules(), h.settings)[t.threshold_crossings]
    crossings = [r.value for r in h.read(t.threshold_crossings)]
    # the crossings topic also holds the poison sent to it above
    ours = [c for c in crossings if c["type"] == "ThresholdCrossed" and "event_id" in c]
    report = compare(expected, ours)
    # one crossing per good a1 record; the "big" account crosses 500K and 1M
    assert report.ok, (report.missing, report.extra)
    assert report.expected == len(goods) + 1
    assert worker.alive
    h.send_raw(t.follower_changes, [(key, good(99, 2_000_000))])
    h.wait_for(t.threshold_crossings, len(crossings) + 1, timeout=15)


def test_an_agent_failing_for_a_reason_other_than_its_input_stops_the_worker(
    thresholds_harness: Harness,
) -> None:
    # a corrupt state in the table (not an input record) makes the agent raise
    h = thresholds_harness
    state_changelog = next(t for t in changelog_topics(h.settings) if "account-state" in t)
    h.send_raw(state_changelog, [(b"weibo:a1", b"\xc1 not a state")])
    worker = h.start_worker()

    h.send_raw(h.topics.follower_changes, [(b"weibo:a1", good(0, 600_000))])
    code = worker.process.wait(timeout=60)

    log = worker.log.read_text(errors="replace")
    errors = [line for line in log.splitlines() if "stopping the worker" in line]
    assert code == 70
    assert len(errors) == 1, log[-2000:]
    assert "agent crossings failed" in errors[0]
