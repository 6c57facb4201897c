"""`thresholds report`'s numbers are what counting `thresholds replay`'s
output of the same log and configuration gives, whatever `--jobs` is."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas import VerificationResult
from streams.cli.report_charts import CHARTS
from streams.config import Topics, load_rules
from streams.core.rules import Rules
from streams.process.impact import summary, tally_log, tally_scenarios
from streams.process.replay import Replayer, iter_lines
from streams.testing.logs import threshold_walk

GOLDEN = Path(__file__).parent.parent / "golden"
ROLLOUT = Path(__file__).parent.parent.parent / "streams" / "samples" / "rollout.toml"


def write_log(path: Path, seed: int, n: int = 1_500, accounts: int = 30) -> Path:
    """Accounts walking around the thresholds over four months, with verification
    results, late events and a few bad lines."""
    lines = threshold_walk(n, accounts, seed=seed, bad_lines=0.01)
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    return path


def count_replay(path: Path, rules: Rules) -> dict[str, Any]:
    """The spec's summary, counted from replay's records (and the log's results)."""
    replayer = Replayer(rules, Topics())
    crossings: Counter[tuple[str, str, str]] = Counter()
    ever_above: dict[tuple[str, str], set[str]] = {}
    above: dict[str, set[tuple[str, str]]] = {}
    policy: Counter[str] = Counter()
    restricted: dict[str, bool] = {}
    pending: dict[str, bool] = {}
    with path.open("rb") as f:
        for line in iter_lines(f):
            for _, record_key, value in replayer.feed(line):
                kind = value["type"]
                key = record_key or ""
                if kind == "ThresholdCrossed":
                    at = (value["platform"], str(value["threshold"]))
                    crossings[(*at, value["direction"])] += 1
                    if value["direction"] == "up":
                        ever_above.setdefault(at, set()).add(key)
                        above.setdefault(key, set()).add(at)
                    else:
                        above.setdefault(key, set()).discard(at)
                elif kind != "DeadLetter":
                    policy[kind] += 1
                    if kind == "VerificationRequested":
                        pending[key] = True
                    elif kind in ("VerificationCancelled", "TrafficRestricted"):
                        pending[key] = False
                    restricted[key] = kind == "TrafficRestricted" or (
                        restricted.get(key, False) and kind != "RestrictionLifted"
                    )
            try:  # a verified result closes an open request without a record
                result = VerificationResult.model_validate_json(line)
            except ValueError:
                continue
            if result.status == "verified":
                pending[f"{result.platform}:{result.account_id}"] = False
    platforms: dict[str, dict[str, dict[str, int]]] = {}
    for platform, threshold, _ in crossings:
        platforms.setdefault(platform, {})[threshold] = {
            "up": crossings[(platform, threshold, "up")],
            "down": crossings[(platform, threshold, "down")],
            "ever_above": len(ever_above.get((platform, threshold), ())),
            "above_at_end": sum((platform, threshold) in s for s in above.values()),
        }
    return {
        "platforms": platforms,
        "policy": {
            **{
                k: policy[k]
                for k in (
                    "VerificationRequested",
                    "VerificationCancelled",
                    "TrafficRestricted",
                    "RestrictionLifted",
                )
            },
            "restricted_at_end": sum(restricted.values()),
            "pending_at_end": sum(pending.values()),
        },
    }


def _sorted(platforms: dict[str, Any]) -> dict[str, Any]:
    return {p: dict(sorted(t.items(), key=lambda kv: int(kv[0]))) for p, t in platforms.items()}


@pytest.mark.parametrize(("shards", "chunk_bytes"), [(1, 1 << 22), (3, 700)])
def test_every_number_of_the_summary_is_what_counting_replay_gives(
    tmp_path: Path, shards: int, chunk_bytes: int
) -> None:
    log = write_log(tmp_path / "log.jsonl", seed=1)
    rules = load_rules(ROLLOUT)

    tally = tally_scenarios(log, [rules], Topics(), shards, chunk_bytes)[0]
    scenario = summary([("rollout", tally)])["scenarios"][0]

    expected = count_replay(log, rules)
    assert _sorted(scenario["platforms"]) == _sorted(expected["platforms"])
    assert scenario["policy"] == expected["policy"]
    assert scenario["policy"]["TrafficRestricted"] > 0


def test_the_logs_figures_count_accepted_events_dead_letters_and_stale_ones(
    tmp_path: Path,
) -> None:
    log = write_log(tmp_path / "log.jsonl", seed=2)
    replayer = Replayer()
    with log.open("rb") as f:
        lines = list(iter_lines(f))
    for line in lines:
        replayer.feed(line)

    figures = summary([("default", tally_log(log, Rules(), Topics()))])["log"]

    counters = replayer.counters
    assert figures["lines"] == len(lines)
    assert figures["dead_letters"] == counters.dead_letters > 0
    assert figures["stale"] == counters.stale_events_total > 0
    assert figures["events"] == counters.events - counters.stale_events_total
    assert figures["accounts"] == len(replayer.crossing_states)


def _sharded(log: Path, rules: Rules, shards: int, chunk_bytes: int) -> dict[str, Any]:
    return summary([("s", tally_scenarios(log, [rules], Topics(), shards, chunk_bytes)[0])])


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    shards=st.integers(2, 5),
    chunk_bytes=st.sampled_from([1, 300, 5_000, 1 << 22]),
)
def test_spreading_the_accounts_over_shards_and_the_lines_over_chunks_changes_no_number(
    seed: int, shards: int, chunk_bytes: int
) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        log = write_log(Path(tmp) / "log.jsonl", seed=seed, n=400, accounts=12)
        rules = load_rules(ROLLOUT)
        whole = _sharded(log, rules, 1, 1 << 22)

        assert _sharded(log, rules, shards, chunk_bytes) == whole


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10_000), shards=st.integers(1, 4))
def test_scenarios_fed_together_count_what_each_replayed_alone_counts(
    seed: int, shards: int
) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        log = write_log(Path(tmp) / "log.jsonl", seed=seed, n=400, accounts=12)
        scenarios = [load_rules(ROLLOUT), load_rules(GOLDEN / "sample.toml"), Rules()]
        together = tally_scenarios(log, scenarios, Topics(), shards, chunk_bytes=2_000)

        alone = [tally_log(log, rules, Topics()) for rules in scenarios]

        assert summary(enumerate(together)) == summary(enumerate(alone))  # type: ignore[arg-type]


def _report(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "streams.cli", "report", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def test_jobs_1_and_jobs_4_write_the_same_summary(tmp_path: Path) -> None:
    log = write_log(tmp_path / "log.jsonl", seed=3)
    configs = ["--config", str(ROLLOUT), "--config", str(GOLDEN / "sample.toml")]

    one = _report(str(log), *configs, "--out", str(tmp_path / "one"), "--jobs", "1")
    four = _report(str(log), *configs, "--out", str(tmp_path / "four"), "--jobs", "4")

    assert one.returncode == 0, one.stderr
    assert four.returncode == 0, four.stderr
    summaries = [json.loads((tmp_path / d / "summary.json").read_text()) for d in ("one", "four")]
    assert summaries[0] == summaries[1]
    assert [s["name"] for s in summaries[0]["scenarios"]] == ["rollout", "sample"]


def test_a_missing_log_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = _report(str(tmp_path / "nope.jsonl"))

    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "not found" in result.stderr


def test_a_bad_configuration_is_one_line_and_exit_2(tmp_path: Path) -> None:
    log = write_log(tmp_path / "log.jsonl", seed=4, n=20)
    bad = tmp_path / "bad.toml"
    bad.write_text("hysteresis = 2.5\n")

    result = _report(str(log), "--config", str(bad), "--out", str(tmp_path / "out"))

    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "hysteresis" in result.stderr


def test_a_log_from_year_1_to_year_9999_gets_its_summary_and_charts(tmp_path: Path) -> None:
    def change(n: int, account: str, followers: int, at: str) -> str:
        return json.dumps(
            {
                "type": "FollowerCountChanged",
                "schema_version": 1,
                "event_id": f"e{n}",
                "platform": "weibo",
                "account_id": account,
                "followers": followers,
                "occurred_at": at,
            }
        )

    log = tmp_path / "log.jsonl"
    log.write_text(
        "\n".join(
            [
                change(1, "a", 600_000, "0001-01-01T00:00:00Z"),
                change(2, "b", 1_200_000, "2024-01-01T00:00:00Z"),
                change(3, "c", 600_000, "9999-12-31T23:59:59.999999Z"),
            ]
        )
        + "\n"
    )

    result = _report(str(log), "--out", str(tmp_path / "out"))

    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "out" / "summary.json").read_text())
    weibo = report["scenarios"][0]["platforms"]["weibo"]
    assert (weibo["500000"]["up"], weibo["1000000"]["up"]) == (3, 1)
    assert report["log"]["last_at"] == "9999-12-31T23:59:59.999999Z"
    assert all((tmp_path / "out" / png).stat().st_size > 5_000 for png in CHARTS)
