"""What a rule change would do: a log replayed per scenario, counted.

The same core as `thresholds replay`, on event time: every number here is
what counting replay's output of the same log and configuration gives (a
test holds it to that). Accounts are spread over shards by key, since an
account's state is its own: each line is decoded once, in chunks
(`streams.process.chunks`), and each shard replays only its accounts'
inputs, under every scenario at once; shards' tallies add up.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from streams.config import Topics
from streams.core.identity import record_key
from streams.core.policy import VerificationResult
from streams.core.rules import Rules
from streams.core.timestamps import format_utc, parse_rfc3339
from streams.process.chunks import CHUNK_BYTES, Chunk, ShardPart, decode_chunk, split
from streams.process.replay import Record, Replayer

__all__ = [
    "POLICY_TYPES",
    "Scenario",
    "ShardFeed",
    "Tally",
    "active_days",
    "add_up",
    "summary",
    "tally_log",
    "tally_scenarios",
]

POLICY_TYPES = (
    "VerificationRequested",
    "VerificationCancelled",
    "TrafficRestricted",
    "RestrictionLifted",
)
_DAY_US = 86_400 * 1_000_000


@dataclass(frozen=True, slots=True)
class Scenario:
    """A named configuration to replay the log under."""

    name: str
    rules: Rules


@dataclass
class Tally:
    """Counts of one scenario (or one shard of it); tallies of shards add up."""

    lines: int = 0
    events: int = 0
    dead_letters: int = 0
    stale: int = 0
    accounts: int = 0
    first_at: int | None = None
    last_at: int | None = None
    # (platform, threshold, direction) -> crossings
    crossings: Counter[tuple[str, int, str]] = field(default_factory=Counter)
    # (platform, threshold) -> accounts that crossed up at least once / above at the end
    ever_above: Counter[tuple[str, int]] = field(default_factory=Counter)
    above_at_end: Counter[tuple[str, int]] = field(default_factory=Counter)
    policy: Counter[str] = field(default_factory=Counter)
    restricted_at_end: int = 0
    pending_at_end: int = 0
    # per day (UTC, days since the epoch): crossings by direction, policy records
    # by type, and the change in accounts above (platform, threshold)
    crossings_per_day: Counter[tuple[int, str]] = field(default_factory=Counter)
    policy_per_day: Counter[tuple[int, str]] = field(default_factory=Counter)
    above_change_per_day: Counter[tuple[int, str, int]] = field(default_factory=Counter)
    # account key -> crossings (who oscillates)
    crossings_per_account: Counter[str] = field(default_factory=Counter)

    def add(self, other: Tally) -> None:
        """Add another shard's counts to these."""
        self.lines = max(self.lines, other.lines)
        self.events += other.events
        self.dead_letters += other.dead_letters
        self.stale += other.stale
        self.accounts += other.accounts
        self.first_at = _earliest(self.first_at, other.first_at)
        self.last_at = _latest(self.last_at, other.last_at)
        self.restricted_at_end += other.restricted_at_end
        self.pending_at_end += other.pending_at_end
        for mine, theirs in zip(self._counters(), other._counters(), strict=True):
            mine.update(theirs)

    def _counters(self) -> list[Counter[Any]]:
        return [
            self.crossings,
            self.ever_above,
            self.above_at_end,
            self.policy,
            self.crossings_per_day,
            self.policy_per_day,
            self.above_change_per_day,
            self.crossings_per_account,
        ]


def _earliest(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else min(a, b)


def _latest(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else max(a, b)


_TIME_FIELD = {
    "VerificationRequested": "requested_at",
    "VerificationCancelled": "cancelled_at",
    "TrafficRestricted": "restricted_at",
    "RestrictionLifted": "lifted_at",
}


def _count(tally: Tally, records: list[Record], ups: set[tuple[str, int, str]]) -> None:
    for _, key, value in records:
        kind = value["type"]
        if kind == "ThresholdCrossed":
            platform, threshold, direction = (
                value["platform"],
                value["threshold"],
                value["direction"],
            )
            day = _day(value["occurred_at"])
            tally.crossings[(platform, threshold, direction)] += 1
            tally.crossings_per_day[(day, direction)] += 1
            tally.above_change_per_day[(day, platform, threshold)] += 1 if direction == "up" else -1
            tally.crossings_per_account[key or ""] += 1
            if direction == "up":
                ups.add((platform, threshold, key or ""))
        elif kind in _TIME_FIELD:
            tally.policy[kind] += 1
            tally.policy_per_day[(_day(value[_TIME_FIELD[kind]]), kind)] += 1


def _day(text: str) -> int:
    return parse_rfc3339(text) // _DAY_US


class ShardFeed:
    """One shard's accounts replayed under every scenario, chunk after chunk."""

    def __init__(self, scenarios: list[Rules], topics: Topics) -> None:
        self._each: list[tuple[Replayer, Tally, set[tuple[str, int, str]]]] = [
            (Replayer(rules, topics), Tally(), set()) for rules in scenarios
        ]

    def feed(self, part: ShardPart) -> None:
        """Apply a chunk's part of this shard (`streams.process.chunks`)."""
        events, clocks, results, last = part
        each = self._each
        pending = iter(results)
        result = next(pending, None)
        # every scenario takes an event before the next event: its account's
        # key and states are then still in the cache (a fifth faster than a
        # scenario at a time over 250,000 accounts)
        for i, event in enumerate(events):
            while result is not None and result[0] == i:
                self._result(result)
                result = next(pending, None)
            key, clock = record_key(event.platform, event.account_id), clocks[i]
            for replayer, tally, ups in each:
                records = replayer.feed_event(event, key, clock)
                if records:
                    _count(tally, records, ups)
        while result is not None:
            self._result(result)
            result = next(pending, None)
        if last is not None:
            for replayer, tally, ups in each:
                _count(tally, replayer.advance(last), ups)

    def _result(self, result: tuple[int, VerificationResult, int]) -> None:
        _, verification, clock = result
        for replayer, tally, ups in self._each:
            _count(tally, replayer.advance(clock), ups)
            _count(tally, replayer.feed_result(verification), ups)

    def tallies(self) -> list[Tally]:
        """Each scenario's counts of this shard's accounts."""
        for replayer, tally, ups in self._each:
            _finish(tally, replayer, ups)
        return [tally for _, tally, _ in self._each]


def add_up(shards: Iterable[list[Tally]], chunks: Iterable[Chunk], scenarios: int) -> list[Tally]:
    """Each scenario's tally of the whole log: its shards' counts added, with
    the counts of lines that were no input (which no shard sees)."""
    totals = [Tally() for _ in range(scenarios)]
    for shard in shards:
        for total, tally in zip(totals, shard, strict=True):
            total.add(tally)
    lines = dead_letters = 0
    for chunk in chunks:
        lines += chunk.lines
        dead_letters += chunk.dead_letters
    for total in totals:
        total.lines, total.dead_letters = lines, dead_letters
    return totals


def tally_scenarios(
    path: Path,
    scenarios: list[Rules],
    topics: Topics,
    shards: int = 1,
    chunk_bytes: int = CHUNK_BYTES,
) -> list[Tally]:
    """Replay `path` under each of `scenarios` in this process: each line
    decoded once, its account's shard fed with it (`thresholds report`
    spreads the same work over processes)."""
    feeds = [ShardFeed(scenarios, topics) for _ in range(shards)]
    chunks = []
    for start, end in split(path, chunk_bytes):
        chunk = decode_chunk(path, start, end, shards, topics)
        for feed, part in zip(feeds, chunk.parts, strict=True):
            feed.feed(part)
        chunks.append(chunk._replace(parts=[]))
    return add_up((feed.tallies() for feed in feeds), chunks, len(scenarios))


def tally_log(path: Path, rules: Rules, topics: Topics, shards: int = 1) -> Tally:
    """Replay `path` under `rules` (see `tally_scenarios`)."""
    return tally_scenarios(path, [rules], topics, shards)[0]


def _finish(tally: Tally, replayer: Replayer, ups: set[tuple[str, int, str]]) -> None:
    counters = replayer.counters
    tally.events = counters.events - counters.stale_events_total
    tally.stale = counters.stale_events_total
    tally.dead_letters = counters.dead_letters
    tally.first_at, tally.last_at = counters.first_at, counters.last_at
    tally.accounts = len(replayer.crossing_states)
    tally.ever_above.update((platform, threshold) for platform, threshold, _ in ups)
    for key, state in replayer.crossing_states.items():
        platform = key.partition(":")[0]
        tally.above_at_end.update((platform, t) for t in state.above)
    for policy_state in replayer.policy_states.values():
        tally.restricted_at_end += policy_state.restricted
        tally.pending_at_end += policy_state.request is not None


def _platforms(tally: Tally) -> dict[str, dict[str, dict[str, int]]]:
    keys = {(p, t) for p, t, _ in tally.crossings} | set(tally.above_at_end)
    out: dict[str, dict[str, dict[str, int]]] = {}
    for platform, threshold in sorted(keys):
        out.setdefault(platform, {})[str(threshold)] = {
            "up": tally.crossings[(platform, threshold, "up")],
            "down": tally.crossings[(platform, threshold, "down")],
            "ever_above": tally.ever_above[(platform, threshold)],
            "above_at_end": tally.above_at_end[(platform, threshold)],
        }
    return out


def summary(tallies: Iterable[tuple[str, Tally]]) -> dict[str, Any]:
    """`summary.json` (the spec's shape) from each scenario's tally."""
    named = list(tallies)
    first = named[0][1]
    return {
        "log": {
            "lines": first.lines,
            "events": first.events,
            "dead_letters": first.dead_letters,
            "stale": first.stale,
            "accounts": first.accounts,
            "first_at": None if first.first_at is None else format_utc(first.first_at),
            "last_at": None if first.last_at is None else format_utc(first.last_at),
        },
        "scenarios": [
            {
                "name": name,
                "platforms": _platforms(tally),
                "policy": {
                    **{kind: tally.policy[kind] for kind in POLICY_TYPES},
                    "restricted_at_end": tally.restricted_at_end,
                    "pending_at_end": tally.pending_at_end,
                },
            }
            for name, tally in named
        ],
    }


def active_days(tally: Tally) -> list[int]:
    """The days with a crossing or a policy record, in order."""
    return sorted({d for d, *_ in tally.crossings_per_day} | {d for d, _ in tally.policy_per_day})
