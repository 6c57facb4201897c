"""The worker's Prometheus metrics (SPEC.md, "Operations").

The counters are the processors' own (`LiveCounters`), read when Prometheus
scrapes, so the hot path pays nothing for them; lag, table sizes and recovery
are asked of Faust at the same moment. Only the processing-time histogram is
written per record, when its batch is acknowledged: a bucket count per
record here (prometheus-client's `Histogram.observe` takes a lock and walks
the buckets for each one: 4 % of the worker's time in a py-spy profile), the
exposition prometheus-client's.
"""

from __future__ import annotations

import time
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from streams.codec.inputs import REASONS
from streams.config import Settings
from streams.config.topology import AGENTS, topology
from streams.process.processors import LiveCounters

__all__ = ["CONTENT_TYPE", "WorkerMetrics"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
"""The Prometheus text exposition format."""

LATENCY_BUCKETS = (0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
"""Seconds: the spec's 20 ms latency target sits on a bucket edge."""


class _Faust:
    """What the collector asks of the running app: lag, table sizes, recovery."""

    def __init__(self, app: Any, settings: Settings, tables: dict[str, Any]) -> None:
        self.app = app
        plan = topology(settings)
        # the inputs and the crossings the policy reads; not the internal ticks
        self.inputs = {name for agent in AGENTS for name in plan.inputs(agent)}
        self.inputs -= set(plan.of_kind("internal"))
        self.tables = tables
        self.changelogs = {t.changelog_topic.get_topic_name(): n for n, t in tables.items()}

    def lag(self) -> Iterator[tuple[str, int, int]]:
        """(topic, partition, records between the committed offset and the high watermark)."""
        consumer = getattr(self.app, "_consumer", None)  # not built before the worker starts
        if consumer is None:
            return
        try:
            assigned = consumer.assignment()
        except Exception:
            return
        committed = consumer._committed_offset  # Faust touchpoint (docs/operations.md)
        for tp in sorted(assigned):
            if tp.topic not in self.inputs:
                continue
            try:
                high = consumer.highwater(tp)
            except Exception:  # noqa: S112 - revoked meanwhile (aiokafka runs in its own thread)
                continue
            if high is None:  # no fetch answered yet
                continue
            done = committed.get(tp)
            yield tp.topic, tp.partition, max(0, high - (done or 0))

    def accounts(self) -> Iterator[tuple[str, int]]:
        """(table, keys this worker holds)."""
        for name, table in self.tables.items():
            store = table.data
            held = getattr(store, "data", None)  # the memory store's dict
            if isinstance(held, dict):
                yield name, sum(1 for k in held if not k.startswith(b"\x00"))
                continue
            estimate = 0
            for db in getattr(store, "_dbs", {}).values():  # RocksDB: its own estimate
                try:
                    estimate += int(db.property_int_value("rocksdb.estimate-num-keys") or 0)
                except Exception:  # noqa: S112 - another RocksDB binding
                    continue
            yield name, estimate

    def recovery(self) -> Iterator[tuple[str, int]]:
        """(table, changelog records left to restore)."""
        remaining = {name: 0 for name in self.tables}
        recovery = self.app.tables.recovery
        if recovery.in_recovery:
            try:
                behind = recovery.active_remaining()
            except RuntimeError:  # its maps changed under it: report 0 until the next scrape
                behind = {}
            for tp, left in behind.items():
                name = self.changelogs.get(tp.topic)
                if name is not None:
                    remaining[name] += max(0, left)
        yield from remaining.items()


class Latencies(Collector):
    """A histogram of processing times, counted in batches and exposed as
    `thresholds_processing_seconds`."""

    def __init__(self, bounds: Sequence[float] = LATENCY_BUCKETS) -> None:
        self.bounds = tuple(bounds)
        self.counts = [0] * (len(self.bounds) + 1)  # the last: above every bound
        self.total = 0.0

    def observe(self, seconds: Iterable[float]) -> None:
        """Count each duration in its bucket (a bound is the bucket's `le`)."""
        counts, bounds = self.counts, self.bounds
        total = 0.0
        for value in seconds:
            counts[bisect_left(bounds, value)] += 1
            total += value
        self.total += total

    def collect(self) -> Iterable[Metric]:
        """The cumulative buckets, as Prometheus reads histograms."""
        cumulative, running = [], 0
        for bound, n in zip((*map(str, self.bounds), "+Inf"), self.counts, strict=True):
            running += n
            cumulative.append((bound, running))
        yield HistogramMetricFamily(
            "thresholds_processing_seconds",
            "An input record's broker timestamp to its outputs acknowledged",
            buckets=cumulative,
            sum_value=self.total,
        )


class _Counters(Collector):
    def __init__(
        self,
        crossing: LiveCounters,
        policy: LiveCounters,
        faust: _Faust,
        ready: Callable[[], bool],
    ) -> None:
        self.crossing = crossing
        self.policy = policy
        self.faust = faust
        self.ready = ready

    def collect(self) -> Iterable[Metric]:
        yield GaugeMetricFamily(
            "thresholds_ready", "1 while /ready answers 200, else 0", value=int(self.ready())
        )
        both = (self.crossing, self.policy)
        events = CounterMetricFamily(
            "thresholds_events", "Input records read, dead letters included", labels=["topic"]
        )
        # every input from the start, at 0: a rate() of "no input" needs a series
        read = dict.fromkeys(sorted(self.faust.inputs), 0)
        for c in both:
            for topic, n in c.read.items():
                read[topic] = read.get(topic, 0) + n
        for topic, n in read.items():
            events.add_metric([topic], n)
        yield events
        crossings = CounterMetricFamily(
            "thresholds_crossings",
            "Threshold crossings emitted",
            labels=["platform", "threshold", "direction"],
        )
        for (platform, threshold, direction), n in sorted(self.crossing.crossings.items()):
            crossings.add_metric([platform, str(threshold), direction], n)
        yield crossings
        letters = CounterMetricFamily(
            "thresholds_dead_letters",
            "Input records refused, by input topic and reason",
            labels=["topic", "reason"],
        )
        # every (input, reason) from the start, at 0: an alert on increase()
        # never fires for the first burst of a series that appears at 1
        refused = dict.fromkeys(((t, r) for t in sorted(self.faust.inputs) for r in REASONS), 0)
        for c in both:
            for key, n in c.dead_letters.items():
                refused[key] = refused.get(key, 0) + n
        for (topic, reason), n in sorted(refused.items()):
            letters.add_metric([topic, reason], n)
        yield letters
        yield CounterMetricFamily(
            "thresholds_stale_events",
            "Follower changes older than the account's state, ignored",
            value=self.crossing.stale_events_total,
        )
        yield CounterMetricFamily(
            "thresholds_redelivered",
            "Records applied before (a redelivery after a restart), skipped",
            value=self.crossing.redelivered_total + self.policy.redelivered_total,
        )
        outputs = CounterMetricFamily(
            "thresholds_policy_outputs", "Policy records emitted, by type", labels=["type"]
        )
        for kind, n in sorted(self.policy.policy_outputs.items()):
            outputs.add_metric([kind], n)
        yield outputs
        lag = GaugeMetricFamily(
            "thresholds_consumer_lag",
            "Records between the committed offset and the high watermark",
            labels=["topic", "partition"],
        )
        for topic, partition, behind in self.faust.lag():
            lag.add_metric([topic, str(partition)], behind)
        yield lag
        accounts = GaugeMetricFamily(
            "thresholds_accounts", "Keys this worker holds, by table", labels=["table"]
        )
        for table, n in self.faust.accounts():
            accounts.add_metric([table], n)
        yield accounts
        recovery = GaugeMetricFamily(
            "thresholds_recovery_remaining_records",
            "Changelog records left to restore, by table",
            labels=["table"],
        )
        for table, n in self.faust.recovery():
            recovery.add_metric([table], n)
        yield recovery


class WorkerMetrics:
    """One worker's registry: the collector over its counters, and the latency histogram."""

    def __init__(
        self,
        app: Any,
        settings: Settings,
        crossing: LiveCounters,
        policy: LiveCounters,
        tables: dict[str, Any],
        ready: Callable[[], bool],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        faust = _Faust(app, settings, tables)
        self.registry.register(_Counters(crossing, policy, faust, ready))
        self._processing = Latencies()
        self.registry.register(self._processing)
        self._ticks = settings.topics.policy_ticks
        self._clock = clock

    def processed(self, messages: Sequence[Any]) -> None:
        """Observe the processing time of a batch whose outputs were just acknowledged."""
        now = self._clock()
        ticks = self._ticks
        self._processing.observe(
            max(0.0, now - m.timestamp)
            for m in messages
            if m.topic != ticks  # the worker's own clock, not input
        )

    def exposition(self) -> bytes:
        """The registry in Prometheus's text format."""
        return generate_latest(self.registry)
