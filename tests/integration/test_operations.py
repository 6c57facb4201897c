"""The operations endpoints of a live worker on the real broker (SPEC.md,
"Operations"): probes, metrics equal to what replay says of the same log,
account lookups answered by whichever worker is asked."""

from __future__ import annotations

import contextlib
import json
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson
import pytest

from streams.codec import VERIFICATION_RESULT
from streams.codec.inputs import REASONS
from streams.core.rules import Rules
from streams.core.timestamps import format_utc
from streams.kafka.client import key_and_type
from streams.kafka.verify import expected_from_log
from streams.process.replay import Replayer, iter_lines
from streams.testing.harness import Harness, thresholds
from streams.testing.logs import (
    follower_change,
    generate_events,
    hostile_records,
    verification_result,
)
from tests.support.operations import Samples, get, scrape, wait_ready_answers_200
from tests.support.polling import poll

pytestmark = pytest.mark.integration

TOKEN = "s3cret-token"  # noqa: S105 - a test worker's


def _log(tmp_path: Path, n: int = 3000, accounts: int = 150) -> tuple[Path, list[bytes]]:
    events = list(generate_events(n, accounts, seed=5))
    seen = sorted({(e["platform"], e["account_id"]) for e in events})
    lines = [orjson.dumps(v) for v in events]
    lines += [orjson.dumps(verification_result(a, platform=p)) for p, a in seen[::7]]
    lines += [line.replace(b"\n", b" ") for line in hostile_records(400, seed=3)]
    path = tmp_path / "ops.jsonl"
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    return path, lines


def _account_url(base: str, key: str) -> str:
    platform, account = key.split(":", 1)
    return f"{base}/accounts/{quote(platform, safe='')}/{quote(account, safe='')}"


def _value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def _family(samples: Samples, name: str, *label_names: str) -> Counter[tuple[str, ...]]:
    out: Counter[tuple[str, ...]] = Counter()
    for (sample, labels), value in samples.items():
        if sample == name:
            found = dict(labels)
            out[tuple(found[n] for n in label_names)] = int(value)
    return out


def _final_states(log: Path, harness: Harness) -> Replayer:
    replayer = Replayer(Rules(), harness.topics)
    with log.open("rb") as f:
        for line in iter_lines(f):
            replayer.feed(line)
    return replayer


@pytest.fixture
def ops_harness(thresholds_harness: Harness) -> Harness:
    thresholds_harness.web_token = TOKEN
    return thresholds_harness


def test_probes_answer_ok_and_ready_once_the_worker_is_in_its_group(ops_harness: Harness) -> None:
    worker = ops_harness.start_worker()
    wait_ready_answers_200(worker.url)
    assert get(f"{worker.url}/health") == (200, {"status": "ok"})
    assert get(f"{worker.url}/ready") == (200, {"status": "ready"})


def test_ready_is_503_with_a_status_until_the_worker_has_joined_and_recovered(
    ops_harness: Harness,
) -> None:
    worker = ops_harness.start_worker(wait=False)
    answers: list[tuple[int, Any]] = []
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and not (answers and answers[-1][0] == 200):
        with contextlib.suppress(OSError):  # the web server is not up yet
            answers.append(get(f"{worker.url}/ready", timeout=2))
        time.sleep(0.05)

    assert answers[-1] == (200, {"status": "ready"})
    before = [body for status, body in answers if status != 200]
    assert before, "the worker was never seen not ready"
    assert {b["status"] for b in before} <= {"starting", "recovering", "rebalancing"}
    assert all(b["detail"] for b in before)
    assert get(f"{worker.url}/health")[0] == 200


def test_every_dead_letter_series_is_exported_at_zero_before_the_first(
    ops_harness: Harness,
) -> None:
    # an alert on increase() misses the first burst of a series that appears at 1
    t = ops_harness.topics
    worker = ops_harness.start_worker()

    letters = _family(scrape(worker.url), "thresholds_dead_letters_total", "topic", "reason")

    inputs = (t.follower_changes, t.verification_results, t.threshold_crossings)
    assert {(topic, reason) for topic in inputs for reason in REASONS} <= set(letters)
    assert not any(letters.values())


def test_metrics_count_what_replay_counts_and_lag_returns_to_zero(
    ops_harness: Harness, tmp_path: Path
) -> None:
    h, t = ops_harness, ops_harness.topics
    log, lines = _log(tmp_path)
    worker = h.start_worker()
    h.produce(lines)
    h.wait_processed(timeout=120)
    expected = expected_from_log(log, Rules(), h.settings)

    def caught_up() -> Samples | None:
        samples = scrape(worker.url)
        lag = _family(samples, "thresholds_consumer_lag", "topic", "partition")
        return samples if lag and not any(lag.values()) else None

    samples = poll(caught_up, timeout=30, what="lag 0 on every partition", every=0.5)
    assert (t.follower_changes, "0") in _family(
        samples, "thresholds_consumer_lag", "topic", "partition"
    )

    to_results = sum(1 for line in lines if key_and_type(line)[1] == VERIFICATION_RESULT)
    assert _value(samples, "thresholds_events_total", topic=t.follower_changes) == len(lines) - (
        to_results
    )
    assert _value(samples, "thresholds_events_total", topic=t.verification_results) == to_results
    assert _value(samples, "thresholds_events_total", topic=t.threshold_crossings) == len(
        expected[t.threshold_crossings]
    )
    assert _value(samples, "thresholds_ready") == 1
    crossings = Counter(
        (c["platform"], str(c["threshold"]), c["direction"])
        for c in expected[t.threshold_crossings]
    )
    assert _family(samples, "thresholds_crossings_total", "platform", "threshold", "direction") == (
        crossings
    )
    letters = Counter(
        (d["topic"], d["reason"])
        for topic in (t.follower_changes_dlq, t.verification_results_dlq)
        for d in expected.get(topic, [])
    )
    assert _family(samples, "thresholds_dead_letters_total", "topic", "reason") == letters
    assert sum(letters.values()) > 50

    # the policy's wall-clock tick restricts overdue requests any second now:
    # the count must come to what the topics hold, whenever it is read
    def agreeing() -> Counter[tuple[str, ...]] | None:
        emitted: Counter[tuple[str, ...]] = Counter(
            (r.value["type"],) for r in h.read(t.verification_requests, t.account_restrictions)
        )
        counted = _family(scrape(worker.url), "thresholds_policy_outputs_total", "type")
        return emitted if counted == emitted else None

    emitted = poll(agreeing, timeout=30, what="the policy's counts equal its topics", every=0.5)
    assert emitted[("VerificationRequested",)] > 10
    replayer = _final_states(log, h)
    assert _value(samples, "thresholds_stale_events_total") == (
        replayer.counters.stale_events_total
    )
    assert _value(samples, "thresholds_accounts", table="account-state") == len(
        replayer.crossing_states
    )
    # every input record, crossings read back by the policy included, was timed once
    inputs = len(lines) + len(expected[t.threshold_crossings])
    assert _value(samples, "thresholds_processing_seconds_count") == inputs
    assert _value(samples, "thresholds_processing_seconds_bucket", le="+Inf") == inputs
    assert _value(samples, "thresholds_recovery_remaining_records", table="account-state") == 0
    assert _value(samples, "thresholds_redelivered_total") == 0


def _expected_lookup(replayer: Replayer, key: str) -> dict[str, Any]:
    s = replayer.crossing_states[key]
    return {
        "followers": s.followers,
        "occurred_at": format_utc(s.occurred_at),
        "sequence": s.sequence,
        "above": list(s.above),
    }


def _without_policy(answer: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in answer.items() if k not in ("platform", "account_id", "policy")}


def test_lookup_answers_the_account_as_the_tables_hold_it(
    ops_harness: Harness, tmp_path: Path
) -> None:
    h = ops_harness
    log, lines = _log(tmp_path, n=1500, accounts=60)
    worker = h.start_worker()
    h.produce(lines)
    h.wait_processed(timeout=120)
    replayer = _final_states(log, h)
    key = next(k for k, s in replayer.crossing_states.items() if s.above)
    platform, account = key.split(":", 1)

    status, body = get(_account_url(worker.url, key), TOKEN)
    assert status == 200, body
    assert body["platform"] == platform
    assert body["account_id"] == account
    assert _without_policy(body) == _expected_lookup(replayer, key)
    # above a threshold: asked to verify (overdue on the wall clock: restricted
    # from the next tick on), or verified
    policy = body["policy"]
    assert policy["request"] or policy["restricted"] or policy["verified"], body


def test_lookup_needs_the_token_and_probes_do_not(ops_harness: Harness) -> None:
    worker = ops_harness.start_worker()
    wait_ready_answers_200(worker.url)
    assert get(f"{worker.url}/accounts/weibo/someone")[0] == 401
    assert get(f"{worker.url}/accounts/weibo/someone", "wrong")[0] == 401
    assert get(f"{worker.url}/health")[0] == 200
    assert get(f"{worker.url}/ready")[0] == 200


def test_lookup_refuses_a_bad_platform_and_says_404_for_an_unknown_account(
    ops_harness: Harness,
) -> None:
    worker = ops_harness.start_worker()
    wait_ready_answers_200(worker.url)
    assert get(f"{worker.url}/accounts/Not%20A%20Platform/x", TOKEN)[0] == 400
    assert get(f"{worker.url}/accounts/weibo/never-seen", TOKEN)[0] == 404


def test_an_account_id_with_a_slash_a_percent_a_question_mark_or_chinese_is_looked_up(
    ops_harness: Harness,
) -> None:
    h = ops_harness
    worker = h.start_worker()
    odd = ["a/b", "50%off", "why?", "\u5fae\u535a-\u5927V"]  # 微博-大V
    h.produce([orjson.dumps(follower_change(account, 600_000)) for account in odd])
    h.wait_processed(timeout=60)

    for account in odd:
        status, body = get(_account_url(worker.url, f"weibo:{account}"), TOKEN)
        assert status == 200, (account, body)
        assert (body["account_id"], body["above"]) == (account, [500_000])
        printed = thresholds(
            h, "lookup", "weibo", account, "--url", worker.url, env={"THRESHOLDS_WEB_TOKEN": TOKEN}
        )
        assert json.loads(printed.stdout)["account_id"] == account, printed.stderr


@pytest.mark.timeout(400)
def test_every_worker_answers_every_account_by_forwarding_to_its_owner(
    kafka_bootstrap_servers: str, tmp_path: Path
) -> None:
    h = Harness(kafka_bootstrap_servers, partitions=4, web_token=TOKEN)
    h.create_topics()
    try:
        log, lines = _log(tmp_path, n=2000, accounts=80)
        first, second = h.start_worker(), h.start_worker()
        h.produce(lines)
        h.wait_processed(timeout=180)
        for worker in (first, second):
            wait_ready_answers_200(worker.url, timeout=120)
        held = [
            _value(scrape(w.url), "thresholds_accounts", table="account-state")
            for w in (first, second)
        ]
        assert all(n > 0 for n in held), held  # each owns some keys: lookups must forward
        replayer = _final_states(log, h)
        assert sum(held) == len(replayer.crossing_states)
        for key in replayer.crossing_states:
            answers = [get(_account_url(w.url, key), TOKEN) for w in (first, second)]
            assert answers[0] == answers[1], key
            status, body = answers[0]
            assert status == 200, (key, body)
            assert _without_policy(body) == _expected_lookup(replayer, key)
    finally:
        h.stop()


def test_logs_are_json_lines_and_a_refused_record_shows_its_reason_and_an_excerpt(
    ops_harness: Harness,
) -> None:
    h, t = ops_harness, ops_harness.topics
    worker = h.start_worker()  # its stderr is a file, not a terminal: JSON
    long_poison = b'{"platform": "weibo", ' + b"x" * 5000
    h.send_raw(t.follower_changes, [(b"weibo:a", long_poison)])
    h.wait_processed(timeout=60)
    deadline = time.monotonic() + 10
    while "record refused" not in worker.log.read_text() and time.monotonic() < deadline:
        time.sleep(0.2)

    lines = [line for line in worker.log.read_text().splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines]
    assert all({"time", "level", "message"} <= entry.keys() for entry in entries)
    refused = [e for e in entries if e["message"].startswith("record refused")]
    assert len(refused) == 1, refused
    assert refused[0]["topic"] == t.follower_changes
    assert (refused[0]["partition"], refused[0]["offset"]) == (0, 0)
    assert refused[0]["reason"] == "invalid_json"
    assert refused[0]["record"].encode() == long_poison[:200]


def test_thresholds_lookup_prints_the_account_and_exits_1_for_one_never_seen(
    ops_harness: Harness,
) -> None:
    h = ops_harness
    worker = h.start_worker()
    h.produce([orjson.dumps(follower_change("star", 1_200_000))])
    h.wait_processed(timeout=60)

    def lookup(account: str) -> subprocess.CompletedProcess[str]:
        token = {"THRESHOLDS_WEB_TOKEN": TOKEN}
        return thresholds(h, "lookup", "weibo", account, "--url", worker.url, env=token)

    found = lookup("star")
    assert found.returncode == 0, found.stderr
    assert json.loads(found.stdout)["above"] == [500_000, 1_000_000]
    missing = lookup("nobody")
    assert missing.returncode == 1
    assert missing.stderr.strip() == "thresholds: account never seen: weibo:nobody"


def _statuses(url: str, until: float) -> Iterator[str]:
    """/ready's status, asked back to back until `until` (monotonic), "down" while it does not
    answer. Back to back, not on a period: a rebalance after a kill leaves /ready for as little
    as 50 ms (one JoinGroup, one SyncGroup, a restore of a few records), which a probe every
    50 ms missed about once in a few hundred runs; one answer takes a few ms."""
    while time.monotonic() < until:
        try:
            yield get(f"{url}/ready", timeout=2)[1]["status"]
        except OSError:
            yield "down"


@pytest.mark.timeout(300)
def test_ready_drops_while_the_group_rebalances_after_a_kill_and_comes_back(
    kafka_bootstrap_servers: str,
) -> None:
    h = Harness(kafka_bootstrap_servers, partitions=4)
    h.create_topics()
    try:
        survivor, victim = h.start_worker(), h.start_worker()
        for worker in (survivor, victim):
            wait_ready_answers_200(worker.url, timeout=120)
        h.produce([orjson.dumps(follower_change(f"k{i}", 600_000)) for i in range(40)])
        h.wait_processed(timeout=60)
        victim.kill()
        seen: list[str] = []
        for status in _statuses(survivor.url, time.monotonic() + 90):
            seen.append(status)
            if status == "ready" and len(set(seen)) > 1:
                break
        assert seen[-1] == "ready", seen[-5:]
        assert {"rebalancing", "recovering"} & set(seen), set(seen)
    finally:
        h.stop()
