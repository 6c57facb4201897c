"""Verification requests, deadlines and restrictions on the live worker (wall clock)."""

from __future__ import annotations

import time

import orjson

from streams.config.topology import topology
from streams.core.policy import DAY_US
from streams.core.timestamps import format_utc
from streams.kafka import client as kafka_io
from streams.kafka.client import changelog_topics
from streams.testing.harness import Harness
from streams.testing.logs import follower_change, verification_result


def now_us() -> int:
    return time.time_ns() // 1000


def crossing_due_in(account: str, seconds: float) -> dict[str, object]:
    """A jump to 1.2M whose 30-day deadline falls `seconds` from now."""
    at = now_us() - 30 * DAY_US + int(seconds * 1e6)
    return follower_change(account, 1_200_000, format_utc(at), platform="douyin")


def types_of(harness: Harness, topic: str) -> list[str]:
    return [r.value["type"] for r in harness.read(topic)]


def test_an_account_verified_in_time_is_never_restricted(thresholds_harness: Harness) -> None:
    t = thresholds_harness.topics
    thresholds_harness.start_worker()
    # a control account, never verified, due a second after the one that is:
    # its restriction shows the timer has run past the first deadline
    thresholds_harness.produce([crossing_due_in("in-time", 4), crossing_due_in("control", 5)])
    thresholds_harness.wait_for(t.verification_requests, 2)

    thresholds_harness.produce(
        [verification_result("in-time", decided_at=format_utc(now_us()), platform="douyin")]
    )
    restricted = thresholds_harness.wait_for(t.account_restrictions, 1, timeout=60)

    assert [r.value["account_id"] for r in restricted] == ["control"]
    thresholds_harness.wait_processed()
    accounts = [r.value["account_id"] for r in thresholds_harness.read(t.account_restrictions)]
    assert accounts == ["control"]


def test_a_missed_deadline_restricts_and_a_late_verification_lifts(
    thresholds_harness: Harness,
) -> None:
    t = thresholds_harness.topics
    thresholds_harness.start_worker()
    thresholds_harness.produce([crossing_due_in("late", 2)])
    restricted = thresholds_harness.wait_for(t.account_restrictions, 1)

    thresholds_harness.produce(
        [verification_result("late", decided_at=format_utc(now_us()), platform="douyin")]
    )
    records = thresholds_harness.wait_for(t.account_restrictions, 2)

    request = thresholds_harness.read(t.verification_requests)[0].value
    assert restricted[0].value["type"] == "TrafficRestricted"
    assert restricted[0].value["restricted_at"] == request["due_at"]
    assert restricted[0].value["request_id"] == request["event_id"]
    assert (records[1].value["type"], records[1].value["reason"]) == (
        "RestrictionLifted",
        "verified",
    )


def test_a_worker_restarted_between_request_and_deadline_still_restricts_on_time(
    thresholds_harness: Harness,
) -> None:
    t = thresholds_harness.topics
    first = thresholds_harness.start_worker()
    thresholds_harness.produce([crossing_due_in("restarted", 25)])
    thresholds_harness.wait_for(t.verification_requests, 1)
    thresholds_harness.wait_processed()
    first.kill()

    thresholds_harness.start_worker()
    restricted = thresholds_harness.wait_for(t.account_restrictions, 1, timeout=90)

    request = thresholds_harness.read(t.verification_requests)[0].value
    assert restricted[0].value["restricted_at"] == request["due_at"]


def test_a_verification_result_with_personal_data_is_dead_lettered_and_stored_nowhere(
    thresholds_harness: Harness,
) -> None:
    t = thresholds_harness.topics
    personal_data = "Zhang San 110101199003074258"
    result = {**verification_result("pii", platform="douyin"), "real_name": personal_data}
    thresholds_harness.start_worker()
    thresholds_harness.produce([crossing_due_in("pii", 3600), result])
    thresholds_harness.wait_processed()

    letters = thresholds_harness.read(t.verification_results_dlq)
    assert [r.value["reason"] for r in letters] == ["unexpected_field"]
    assert letters[0].value["redacted_fields"] == ["real_name"]
    outputs = [
        orjson.dumps(r.value)
        for r in thresholds_harness.read(*topology(thresholds_harness.settings).outputs())
    ]
    tables = kafka_io.read_all_values(
        thresholds_harness.settings, changelog_topics(thresholds_harness.settings)
    )
    stored = [*outputs, *(v for v in tables if v is not None)]
    assert outputs
    assert tables
    assert all(personal_data.encode() not in value for value in stored)
