"""One batch of consumed records in, records to send and state to write out.

The live agents are thin: they hand a batch to these processors, send what
comes back, wait for the broker's acknowledgement, and only then write the
state (the spec's order of writes). Nothing here knows Faust or Kafka, so the
batch logic is tested without a broker.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from streams import codec
from streams.codec import Rejected
from streams.config import Topics
from streams.core.crossings import AccountState, Outcome, step
from streams.core.identity import record_key
from streams.core.policy import (
    PolicyOutput,
    PolicyState,
    on_crossing,
    on_deadline,
    on_phase_start,
    on_result,
)
from streams.core.rules import Phase, Rules
from streams.core.schedule import DEADLINE, PHASE_START, timer_order

__all__ = [
    "Consumed",
    "CrossingProcessor",
    "LiveCounters",
    "Outgoing",
    "PolicyProcessor",
    "Record",
]


@dataclass(frozen=True, slots=True)
class Consumed:
    """A record as the broker delivered it."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


class Record(Protocol):
    """What the processors read of a record: a `Consumed`, or a Kafka client's
    own message (the live agents pass Faust's, not copied)."""

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...


_Input = TypeVar("_Input")

Outgoing = tuple[str, bytes | None, bytes, int]
"""A record to send: (topic, key, value, partition of the input record that caused it).

The input partition places the record in that partition's transaction under
exactly_once, so it commits atomically with the input's offset."""


REFUSED_KEPT = 20
"""Refused records kept for the log per batch: a flood of bad input must not flood the log."""


@dataclass(slots=True)
class LiveCounters:
    """Totals since the worker started (the metrics read them when scraped)."""

    events_total: int = 0
    crossings_total: int = 0
    dead_letters_total: int = 0
    stale_events_total: int = 0
    redelivered_total: int = 0
    policy_records_total: int = 0
    # records read per input topic, dead letters included (ticks are not input)
    read: Counter[str] = field(default_factory=Counter)
    # per (platform, threshold, direction)
    crossings: Counter[tuple[str, int, str]] = field(default_factory=Counter)
    # per (input topic, reason)
    dead_letters: Counter[tuple[str, str]] = field(default_factory=Counter)
    # per record type (VerificationRequested, ...)
    policy_outputs: Counter[str] = field(default_factory=Counter)
    # refused records not yet logged (the worker logs and clears them after
    # each batch): the first REFUSED_KEPT, then only how many more
    refused: list[tuple[Record, Rejected]] = field(default_factory=list)
    refused_more: int = 0

    def rejected(self, record: Record, rejected: Rejected) -> None:
        """Count a dead letter of `record`."""
        self.dead_letters_total += 1
        self.dead_letters[(record.topic, rejected.reason)] += 1
        if len(self.refused) < REFUSED_KEPT:
            self.refused.append((record, rejected))
        else:
            self.refused_more += 1


def _dead_letter(record: Record, rejected: Rejected, parsed: Any = None) -> Outgoing:
    letter = codec.dead_letter(
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        key=record.key,
        value=record.value,
        rejected=rejected,
        parsed=parsed,
    )
    return (f"{record.topic}-dlq", record.key, codec.dumps(letter), record.partition)


@dataclass
class CrossingProcessor:
    """`follower-changes` batches -> crossings, dead letters and state writes."""

    rules: Rules
    topics: Topics
    load: Callable[[bytes, int], bytes | None]
    counters: LiveCounters = field(default_factory=LiveCounters)

    def process(
        self, records: Iterable[Record]
    ) -> tuple[list[Outgoing], dict[bytes, tuple[int, bytes]]]:
        """Records to send, then state to write per key: (partition, value)."""
        out: list[Outgoing] = []
        states: dict[bytes, tuple[int, AccountState]] = {}
        counters = self.counters
        crossings_topic = self.topics.threshold_crossings
        read = 0
        for record in records:
            read += 1
            event = self._decode(record, out)
            if event is None:
                continue
            counters.events_total += 1
            key: bytes = record.key  # type: ignore[assignment]  # decoded: key matched
            held = states.get(key)
            if held is not None:
                state: AccountState | None = held[1]
            else:
                stored = self.load(key, record.partition)
                state = None if stored is None else codec.decode_account_state(stored)
            rules = self.rules.for_platform(event.platform)
            new_state, crossings, outcome = step(state, event, rules, record.offset)
            if outcome is Outcome.REDELIVERED:
                counters.redelivered_total += 1
                continue
            if outcome is Outcome.STALE:
                counters.stale_events_total += 1
                continue
            states[key] = (record.partition, new_state)  # type: ignore[assignment]
            for c in crossings:
                encoded = codec.dumps(codec.encode_crossing(c))
                out.append((crossings_topic, key, encoded, record.partition))
                counters.crossings[(c.platform, c.threshold, c.direction)] += 1
            counters.crossings_total += len(crossings)
        counters.read[self.topics.follower_changes] += read
        writes = {
            key: (partition, codec.encode_account_state(state))
            for key, (partition, state) in states.items()
        }
        return out, writes

    def _decode(self, record: Record, out: list[Outgoing]) -> Any:
        raw = record.value
        if raw is None:
            rejected = Rejected("invalid_json", "the record has no value")
            out.append(_dead_letter(record, rejected))
            self.counters.rejected(record, rejected)
            return None
        event = codec.decode_follower_change_fast(raw)
        if (
            event is not None
            and record.key == record_key(event.platform, event.account_id).encode()
        ):
            return event
        obj = None
        try:
            obj = codec.parse_json(raw)
            return codec.decode_follower_change(obj, raw, record.key, check_key=True)
        except Rejected as rejected:
            out.append(_dead_letter(record, rejected, obj))
            self.counters.rejected(record, rejected)
            return None


def _tick_time(value: bytes | None) -> int | None:
    """The time a tick record carries (UTC microseconds), None when it is not one."""
    if value is None or not value.isdigit() or len(value) > 20:
        return None
    return int(value)


TICK = b"tick"
"""The key of the tick records that move the policy's wall clock, one per partition."""


@dataclass
class PolicyProcessor:
    """Crossings, verification results and ticks -> requests and restrictions.

    `load` reads a policy state by (key, partition); `scan` lists every (key, state) of a
    partition, for deadlines and phase starts; `last_tick` reads the time of
    the partition's previous tick.

    A tick scans its partition only when something can be due: after one
    scan the processor knows the earliest open deadline of the partition and
    lowers it as it writes states, so most ticks (one a second per partition)
    cost nothing however many accounts the partition holds. The worker calls
    `forget_deadlines` when it is assigned partitions, whose states another
    worker may have written.
    """

    rules: Rules
    topics: Topics
    load: Callable[[bytes, int], bytes | None]
    scan: Callable[[int], Iterator[tuple[bytes, bytes]]]
    last_tick: Callable[[int], int | None]
    counters: LiveCounters = field(default_factory=LiveCounters)
    # per scanned partition: no open request of it is due before this time
    _due_from: dict[int, float] = field(default_factory=dict, init=False, repr=False)

    def forget_deadlines(self) -> None:
        """Scan every partition again at its next tick."""
        self._due_from.clear()

    def process(
        self, records: Iterable[Record], now: int
    ) -> tuple[list[Outgoing], dict[bytes, tuple[int, bytes]], dict[int, int]]:
        """Records to send, policy states to write, and tick times per partition."""
        self._out: list[Outgoing] = []
        self._states: dict[bytes, tuple[int, PolicyState]] = {}
        self._offsets: dict[bytes, tuple[int, int]] = {}
        ticks: dict[int, int] = {}
        for record in records:
            if record.topic == self.topics.policy_ticks:
                at = _tick_time(record.value)
                if at is not None:  # an internal topic: a foreign record is ignored
                    self._tick(record.partition, at, ticks)
            elif record.topic == self.topics.verification_results:
                self.counters.read[record.topic] += 1
                self._result(record)
            else:
                self.counters.read[record.topic] += 1
                self._crossing(record, now)
        writes = {
            key: (partition, codec.encode_policy_state(state, partition, self._offsets[key]))
            for key, (partition, state) in self._states.items()
        }
        return self._out, writes, ticks

    def _state(self, key: bytes, partition: int) -> PolicyState | None:
        held = self._states.get(key)
        if held is not None:
            return held[1]
        stored = self.load(key, partition)
        if stored is None:
            self._offsets.setdefault(key, (-1, -1))
            return None
        state, _, offsets = codec.decode_policy_state(stored)
        self._offsets.setdefault(key, offsets)
        return state

    def _redelivered(self, key: bytes, record: Record, which: int) -> bool:
        """Whether `record` was applied already (a redelivery after a restart)."""
        self._state(key, record.partition)
        offsets = self._offsets[key]
        if record.offset <= offsets[which]:
            self.counters.redelivered_total += 1
            return True
        self._offsets[key] = (
            (record.offset, offsets[1]) if which == 0 else (offsets[0], record.offset)
        )
        return False

    def _emit(
        self, key: bytes, partition: int, state: PolicyState, outputs: list[PolicyOutput]
    ) -> None:
        self._states[key] = (partition, state)
        due_from = self._due_from.get(partition)
        if due_from is not None and state.request is not None:
            self._due_from[partition] = min(due_from, state.request.due_at)
        for o in outputs:
            type_name = type(o).__name__
            topic = self.topics.for_policy(type_name)
            encoded = codec.dumps(codec.encode_policy_output(o))
            self._out.append((topic, key, encoded, partition))
            self.counters.policy_outputs[type_name] += 1
        self.counters.policy_records_total += len(outputs)

    def _phases(self, platform: str) -> tuple[Phase, ...]:
        return self.rules.for_platform(platform).phases

    def _decode(self, record: Record, decode: Callable[..., _Input]) -> _Input | None:
        """The record decoded (its key checked), or None once it is dead-lettered."""
        raw = record.value
        obj = None
        try:
            if raw is None:
                raise Rejected("invalid_json", "the record has no value")
            obj = codec.parse_json(raw)
            return decode(obj, raw, record.key, check_key=True)
        except Rejected as rejected:
            self._out.append(_dead_letter(record, rejected, obj))
            self.counters.rejected(record, rejected)
            return None

    def _crossing(self, record: Record, now: int) -> None:
        crossing = self._decode(record, codec.decode_threshold_crossed)
        if crossing is None:
            return
        key: bytes = record.key  # type: ignore[assignment]  # decoded: key matched
        if self._redelivered(key, record, 0):
            return
        state, outputs = on_crossing(
            self._state(key, record.partition), crossing, self._phases(crossing.platform), now
        )
        self._emit(key, record.partition, state, outputs)

    def _result(self, record: Record) -> None:
        result = self._decode(record, codec.decode_verification_result)
        if result is None:
            return
        key: bytes = record.key  # type: ignore[assignment]  # decoded: key matched
        if self._redelivered(key, record, 1):
            return
        state, outputs = on_result(self._state(key, record.partition), result)
        self._emit(key, record.partition, state, outputs)

    def _tick(self, partition: int, now: int, ticks: dict[int, int]) -> None:
        """Fire the partition's deadlines and phase starts up to `now`: time, then key."""
        last = ticks.get(partition, self.last_tick(partition))
        if last is not None and now <= last:
            return
        ticks[partition] = now
        starts: dict[int, list[Phase]] = {}
        for at, phase in self.rules.phase_starts():
            if (last is None or at > last) and at <= now:
                starts.setdefault(at, []).append(phase)
        if not starts and now < self._due_from.get(partition, now):
            return  # nothing of this partition is due yet
        stored = {}
        for key, value in self.scan(partition):
            state, _, offsets = codec.decode_policy_state(value)
            stored[key] = state
            self._offsets.setdefault(key, offsets)
        stored.update({k: s for k, (p, s) in self._states.items() if p == partition})
        timers: list[tuple[tuple[int, int, str | bytes], bytes, tuple[Phase, ...]]] = []
        # a deadline that passed leaves its state as it was unless the state is
        # written again (which lowers this bound): only later ones count
        due_from = float("inf")
        for key, state in stored.items():
            if state.request is not None:
                if state.request.due_at <= now:
                    at = state.request.due_at
                    timers.append((timer_order(at, DEADLINE, key), key, ()))
                else:
                    due_from = min(due_from, state.request.due_at)
        self._due_from[partition] = due_from
        for at, phases in starts.items():
            timers.append((timer_order(at, PHASE_START), b"", tuple(phases)))
        for (at, kind, _), key, started in sorted(timers, key=lambda timer: timer[0]):
            if kind == DEADLINE:
                self._deadline(key, partition, at)
            else:
                for account_key in sorted(stored):
                    self._phase_start(account_key, partition, started, at)

    def _deadline(self, key: bytes, partition: int, due_at: int) -> None:
        state = self._state(key, partition)
        if state is None:
            return
        platform, _, account_id = key.decode().partition(":")
        state, outputs = on_deadline(state, platform, account_id, due_at, self._phases(platform))
        if outputs:
            self._emit(key, partition, state, outputs)

    def _phase_start(self, key: bytes, partition: int, started: tuple[Phase, ...], at: int) -> None:
        state = self._state(key, partition)
        if state is None or not state.above:
            return
        platform, _, account_id = key.decode().partition(":")
        state, outputs = on_phase_start(
            state, platform, account_id, self._phases(platform), started, at
        )
        if outputs:
            self._emit(key, partition, state, outputs)
