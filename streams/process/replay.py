"""The same core over a JSON Lines log, on event time, with no broker."""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any, NamedTuple

from streams import codec
from streams.codec import Rejected
from streams.config import Topics
from streams.core.crossings import (
    AccountState,
    FollowerCountChanged,
    Outcome,
    ThresholdCrossed,
    step,
)
from streams.core.identity import record_key
from streams.core.policy import (
    PolicyOutput,
    PolicyState,
    VerificationRequested,
    VerificationResult,
    on_crossing,
    on_deadline,
    on_phase_start,
    on_result,
)
from streams.core.rules import Phase, PlatformRules, Rules
from streams.core.schedule import DEADLINE, PHASE_START, timer_order

__all__ = [
    "Counters",
    "Record",
    "Refused",
    "Replayer",
    "decode_event",
    "iter_lines",
    "read_line",
    "replay_lines",
]

Record = tuple[str, str | None, dict[str, Any]]
"""An emitted record: (topic, key, value)."""

_BOM = b"\xef\xbb\xbf"
_NOTHING: list[Record] = []  # shared, never appended to
_NEVER = 1 << 80
_BEFORE_TIME = -(1 << 80)
_APPLIED = Outcome.APPLIED
_decode_fast = codec.decode_follower_change_fast
decode_event = _decode_fast
"""A valid follower change read fast, or None for any other line (then `read_line`)."""


@dataclass(slots=True)
class Counters:
    """What a replay saw."""

    lines: int = 0
    blank_lines: int = 0
    events: int = 0
    results: int = 0
    crossings: int = 0
    policy_records: int = 0
    dead_letters: int = 0
    stale_events_total: int = 0
    # set by `Replayer.feed` (replay_lines derives `events` by subtraction)
    first_at: int | None = None
    last_at: int | None = None


def iter_lines(stream: IO[bytes]) -> Iterator[bytes]:
    """The lines of a log, a leading BOM dropped.

    Line endings stay: JSON ignores them, and the replayer strips them only
    from the rare line it must keep (a dead letter) or skip (a blank one).
    """
    first = stream.readline()
    if first.startswith(_BOM):
        first = first[3:]
    if first:
        yield first
    yield from stream


@dataclass
class Replayer:
    """Feeds log lines through the crossing rule and the policy, on event time."""

    rules: Rules = field(default_factory=Rules)
    topics: Topics = field(default_factory=Topics)
    counters: Counters = field(default_factory=Counters)
    crossing_states: dict[str, AccountState] = field(default_factory=dict)
    policy_states: dict[str, PolicyState] = field(default_factory=dict)
    # the event-time clock: the largest valid time seen so far
    clock: int = _BEFORE_TIME
    _deadlines: list[tuple[int, str, str, str]] = field(default_factory=list)
    _phase_starts: list[tuple[int, tuple[Phase, ...]]] = field(default_factory=list)
    _next_phase: int = 0
    _next_due: int = 0
    _platform_rules: dict[str, PlatformRules] = field(default_factory=dict)

    def __post_init__(self) -> None:
        grouped: dict[int, list[Phase]] = {}
        for at, phase in self.rules.phase_starts():
            grouped.setdefault(at, []).append(phase)
        self._phase_starts = [(at, tuple(ps)) for at, ps in sorted(grouped.items())]
        self._update_next_due()

    def feed(self, raw: bytes) -> list[Record]:
        """Process one log line; return the records it emits, in order."""
        event = _decode_fast(raw)
        if event is None:
            return self._feed_slow(raw)
        return self.feed_event(event, record_key(event.platform, event.account_id))

    def _feed_slow(self, raw: bytes) -> list[Record]:
        line = read_line(raw, self.topics)
        if line is None:
            self.counters.blank_lines += 1
            return _NOTHING
        if isinstance(line, FollowerCountChanged):
            return self.feed_event(line, record_key(line.platform, line.account_id))
        if isinstance(line, VerificationResult):
            return self.feed_result(line)
        return self._dead_letter(line)

    def feed_event(
        self, event: FollowerCountChanged, key: str, clock: int | None = None
    ) -> list[Record]:
        """A valid event (`decode_event`, `read_line`) of the account `key`;
        `clock` is the clock of its line when lines this replayer does not
        see came before it (`streams.process.chunks`), its own time by default."""
        at = event.occurred_at
        if clock is None or clock < at:
            clock = at
        records = _NOTHING
        if clock > self.clock:
            self.clock = clock
            if clock >= self._next_due:
                records = self._fire(clock)
        platform = event.platform
        rules = self._platform_rules.get(platform) or self._rules_for(platform)
        state, crossings, outcome = step(self.crossing_states.get(key), event, rules)
        counters = self.counters
        counters.events += 1
        if outcome is _APPLIED:
            if counters.first_at is None or at < counters.first_at:
                counters.first_at = at
            if counters.last_at is None or at > counters.last_at:
                counters.last_at = at
            if not crossings:  # most events: no call to _after_step
                self.crossing_states[key] = state  # type: ignore[assignment]
                return records
        return self._after_step(key, rules, state, crossings, outcome, records)

    def _rules_for(self, platform: str) -> PlatformRules:
        rules = self._platform_rules.get(platform)
        if rules is None:
            rules = self._platform_rules[platform] = self.rules.for_platform(platform)
        return rules

    def _after_step(
        self,
        key: str,
        rules: PlatformRules,
        state: AccountState | None,
        crossings: list[ThresholdCrossed],
        outcome: Outcome,
        records: list[Record],
    ) -> list[Record]:
        if outcome is not _APPLIED:
            self.counters.stale_events_total += 1
            return records
        self.crossing_states[key] = state  # type: ignore[assignment]
        if not crossings:
            return records
        if records is _NOTHING:
            records = []
        topic = self.topics.threshold_crossings
        for c in crossings:
            records.append((topic, key, codec.encode_crossing(c)))
        self.counters.crossings += len(crossings)
        for c in crossings:
            self._crossing_policy(key, c, rules.phases, records)
        return records

    def _crossing_policy(
        self, key: str, c: ThresholdCrossed, phases: tuple[Phase, ...], out: list[Record]
    ) -> None:
        state, outputs = on_crossing(self.policy_states.get(key), c, phases, self.clock)
        self.policy_states[key] = state
        self._emit(key, outputs, out)

    def feed_result(self, result: VerificationResult) -> list[Record]:
        """A valid verification result (`read_line`)."""
        self.counters.results += 1
        records = self.advance(result.decided_at)
        key = record_key(result.platform, result.account_id)
        state, outputs = on_result(self.policy_states.get(key), result)
        self.policy_states[key] = state
        if outputs:
            if records is _NOTHING:
                records = []
            self._emit(key, outputs, records)
        return records

    def _emit(self, key: str, outputs: list[PolicyOutput], out: list[Record]) -> None:
        for o in outputs:
            if isinstance(o, VerificationRequested):
                heapq.heappush(self._deadlines, (o.due_at, key, o.platform, o.account_id))
                self._next_due = min(self._next_due, o.due_at)
            out.append(
                (self.topics.for_policy(type(o).__name__), key, codec.encode_policy_output(o))
            )
        self.counters.policy_records += len(outputs)

    def advance(self, at: int) -> list[Record]:
        """Move the event-time clock to `at` and fire what is due, in order."""
        if at <= self.clock:
            return _NOTHING
        self.clock = at
        if at < self._next_due:
            return _NOTHING
        return self._fire(at)

    def _fire(self, at: int) -> list[Record]:
        """Fire every deadline and phase start at or before `at`: time, then key."""
        deadlines, starts = self._deadlines, self._phase_starts
        out: list[Record] = []
        while True:
            next_deadline = deadlines[0][0] if deadlines else None
            next_start = starts[self._next_phase][0] if self._next_phase < len(starts) else None
            if (
                next_deadline is not None
                and next_deadline <= at
                and (
                    next_start is None
                    or timer_order(next_deadline, DEADLINE) < timer_order(next_start, PHASE_START)
                )
            ):
                due_at, key, platform, account_id = heapq.heappop(deadlines)
                phases = self.rules.for_platform(platform).phases
                state, outputs = on_deadline(
                    self.policy_states[key], platform, account_id, due_at, phases
                )
                self.policy_states[key] = state
                self._emit(key, outputs, out)
            elif next_start is not None and next_start <= at:
                self._next_phase += 1
                self._start_phases(next_start, starts[self._next_phase - 1][1], out)
            else:
                self._update_next_due()
                return out

    def _update_next_due(self) -> None:
        due = [_NEVER]
        if self._deadlines:
            due.append(self._deadlines[0][0])
        if self._next_phase < len(self._phase_starts):
            due.append(self._phase_starts[self._next_phase][0])
        self._next_due = min(due)

    def _start_phases(self, at: int, started: tuple[Phase, ...], out: list[Record]) -> None:
        for key in sorted(self.policy_states):
            state = self.policy_states[key]
            if not state.above:
                continue
            platform, _, account_id = key.partition(":")
            phases = self.rules.for_platform(platform).phases
            state, outputs = on_phase_start(state, platform, account_id, phases, started, at)
            self.policy_states[key] = state
            self._emit(key, outputs, out)

    def _dead_letter(self, refused: Refused) -> list[Record]:
        self.counters.dead_letters += 1
        topic, raw, obj, rejected = refused
        key = None
        if type(obj) is dict:
            platform, account_id = obj.get("platform"), obj.get("account_id")
            if type(platform) is str and type(account_id) is str:
                key = record_key(platform, account_id)
        letter = codec.dead_letter(
            topic=topic,
            partition=None,
            offset=None,
            key=None if key is None else key.encode(),
            value=raw,
            rejected=rejected,
            parsed=obj,
        )
        return [(f"{topic}-dlq", key, letter)]


class Refused(NamedTuple):
    """A line that is no valid input: a dead letter of `topic`."""

    topic: str
    raw: bytes
    parsed: Any
    rejected: Rejected


def read_line(
    raw: bytes, topics: Topics
) -> FollowerCountChanged | VerificationResult | Refused | None:
    """Any log line, in full (`decode_event` declines): None for a blank one."""
    raw = raw.rstrip(b"\r\n")
    if not raw.strip():
        return None
    try:
        obj = codec.parse_json(raw)
        kind = codec.record_type(obj)
    except Rejected as rejected:
        return Refused(topics.follower_changes, raw, None, rejected)
    if kind == codec.VERIFICATION_RESULT:
        try:
            return codec.decode_verification_result(obj, raw)
        except Rejected as rejected:
            return Refused(topics.verification_results, raw, obj, rejected)
    try:
        return codec.decode_follower_change(obj, raw)
    except Rejected as rejected:
        return Refused(topics.follower_changes, raw, obj, rejected)


def replay_lines(
    lines: Iterable[bytes],
    write: Callable[[bytes], object],
    replayer: Replayer,
) -> Counters:
    """Replay `lines`, writing one JSON line per emitted record through `write`."""
    dumps = codec.dumps
    decode, slow, after = _decode_fast, replayer._feed_slow, replayer._after_step
    states, rules_for = replayer.crossing_states, replayer._rules_for
    rules_cache = replayer._platform_rules
    counters = replayer.counters
    n = 0
    for n, raw in enumerate(lines, 1):  # noqa: B007 - n is read after the loop
        event = decode(raw)
        if event is None:
            records = slow(raw)
        else:
            # Replayer.feed_event, inlined: this loop runs once per line, and most
            # lines are valid events that fire no timer and cross nothing.
            _, platform, account_id, _, at, _ = event
            records = _NOTHING
            if at > replayer.clock:
                replayer.clock = at
                if at >= replayer._next_due:
                    records = replayer._fire(at)
            key = record_key(platform, account_id)
            rules = rules_cache.get(platform) or rules_for(platform)
            state, crossings, outcome = step(states.get(key), event, rules)
            if outcome is _APPLIED and not crossings:
                states[key] = state  # type: ignore[assignment]
            else:
                records = after(key, rules, state, crossings, outcome, records)
        if records:
            write(
                b"".join(dumps({"topic": t, "key": k, "value": v}) + b"\n" for t, k, v in records)
            )
    counters.lines += n
    counters.events = (
        counters.lines - counters.blank_lines - counters.results - counters.dead_letters
    )
    return counters
