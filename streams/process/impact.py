"""What a rule change would do: a log replayed per scenario, counted.

The same core as `thresholds replay`, on event time: every number here is
what counting replay's output of the same log and configuration gives (a
test holds it to that). Accounts can be spread over shards by key, each
shard replaying the whole log but applying only its own accounts' inputs
(the others still move the event-time clock), since an account's state is
its own; shards' tallies add up.
"""

from __future__ import annotations

import zlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from streams.config import Topics
from streams.core.identity import record_key
from streams.core.rules import Rules
from streams.core.timestamps import format_utc, parse_rfc3339
from streams.process.replay import Record, Replayer, decode_event, iter_lines

__all__ = [
    "POLICY_TYPES",
    "Scenario",
    "Tally",
    "active_days",
    "owner",
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


def owner(key: str, shards: int) -> int:
    """The shard that owns an account key (stable across processes and runs)."""
    return zlib.crc32(key.encode()) % shards


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


def tally_log(path: Path, rules: Rules, topics: Topics, shard: int = 0, shards: int = 1) -> Tally:
    """Replay `path` under `rules`, applying the inputs of shard `shard` of `shards`."""
    return tally_scenarios(path, [rules], topics, shard, shards)[0]


def tally_scenarios(
    path: Path, scenarios: list[Rules], topics: Topics, shard: int = 0, shards: int = 1
) -> list[Tally]:
    """Replay `path` under each of `scenarios` at once, applying the inputs of
    shard `shard` of `shards`: each line is read and decoded once, its key
    and owner found once, then fed to every scenario's replayer."""
    owns = None if shards == 1 else (lambda key: owner(key, shards) == shard)
    replayers = [
        Replayer(rules, topics, keeps_dead_letters=shard == 0, owns=owns) for rules in scenarios
    ]
    tallies = [Tally() for _ in scenarios]
    ups: list[set[tuple[str, int, str]]] = [set() for _ in scenarios]
    each = list(zip(replayers, tallies, ups, strict=True))
    owned_keys: dict[str, bool] = {}  # an account's owner, found once (a CRC32 per line was 8 %)
    lines = 0
    with path.open("rb") as stream:
        for lines, line in enumerate(iter_lines(stream), 1):  # noqa: B007 - read after
            event = decode_event(line)
            if event is None:
                for replayer, tally, up in each:
                    records = replayer.feed_undecoded(line)
                    if records:
                        _count(tally, records, up)
                continue
            key = record_key(event.platform, event.account_id)
            owned = True
            if owns is not None:
                owned = owned_keys.get(key)  # type: ignore[assignment]
                if owned is None:
                    owned = owned_keys[key] = owns(key)
            if owned:
                for replayer, tally, up in each:
                    records = replayer.feed_event(event, key, True)
                    if records:
                        _count(tally, records, up)
            else:  # another shard's account: only the event-time clock moves
                at = event.occurred_at
                for replayer, tally, up in each:
                    records = replayer.advance(at)
                    if records:
                        _count(tally, records, up)
    for replayer, tally, up in each:
        tally.lines = lines
        _finish(tally, replayer, up)
    return tallies


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
