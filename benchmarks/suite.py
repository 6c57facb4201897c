"""The live benchmark suite on one broker, in one run, with ratios against its anchors.

Every throughput figure is measured the same way: workers ready on an empty
input, the log's record batches built, then the clock started as the first
batch is sent (as fast as the broker takes them) and stopped when the group
has committed the last input offset (the outputs of an offset are
acknowledged before it is committed).
"""

from __future__ import annotations

import asyncio
import itertools
import math
import multiprocessing
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import msgspec
import orjson

from streams.config import Topics
from streams.core.rules import Rules
from streams.kafka import client as kafka_io
from streams.process.replay import Replayer
from streams.testing.harness import Harness, Worker
from streams.testing.logs import follower_change, generate_events
from tests.support.recovery import seconds_to_processing

__all__ = ["Results", "Sizes", "run_suite"]


@dataclass(frozen=True)
class Sizes:
    """How big each measurement is."""

    events: int = 200_000
    accounts: int = 20_000
    naive_events: int = 200_000
    memory_accounts: int = 500_000
    rocksdb_accounts: int = 10_000_000
    latency_events: int = 300_000
    long_run_events: int = 1_000_000
    quix_events: int = 1_000_000
    produce_events: int = 1_000_000


_dumps = msgspec.json.Encoder().encode
"""JSON as orjson writes it, in bytes sized to fit: each of orjson's holds a
~4 KB buffer, 4 GB of logged lines per million accounts."""

TINY = Sizes(3_000, 300, 1_000, 3_000, 3_000, 2_000, 5_000, 3_000, 5_000)


@dataclass
class Results:
    """Figures of one run."""

    rows: list[tuple[str, str, str]] = field(default_factory=list)
    figures: dict[str, float] = field(default_factory=dict)

    def add(self, name: str, value: float, unit: str, note: str = "") -> None:
        """Record a figure and its table row."""
        self.figures[name] = value
        shown = f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"
        self.rows.append((name, f"{shown} {unit}", note))


def _lines(n: int, accounts: int, seed: int, start_us: int | None = None) -> list[bytes]:
    extra = {} if start_us is None else {"start_us": start_us}
    return [_dumps(v) for v in generate_events(n, accounts, seed=seed, **extra)]


def _rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    kb = next(int(x.split()[1]) for x in status.splitlines() if x.startswith("VmRSS:"))
    return kb / 1024


def _batches(
    producer: Any, lines: Iterable[bytes], partitions: list[int]
) -> tuple[dict[int, list[Any]], int]:
    """`lines` keyed and partitioned as `thresholds produce` does, in record
    batches built with aiokafka's batch API, in order per partition; and how
    many lines there were.

    Built before the clock starts: kafka-python's per-record path runs at
    ~13,000 records/s here, aiokafka's `send` costs ~25 µs a record, and even
    keying, partitioning (murmur2 in Python) and appending cost the suite
    8-12 µs an event, all on the two cores the workers are measured on.
    """
    from aiokafka.partitioner import DefaultPartitioner

    choose = DefaultPartitioner()
    built: dict[int, list[Any]] = {p: [] for p in partitions}
    open_: dict[int, Any] = {}
    count = 0
    for raw in lines:
        count += 1
        key, _ = kafka_io.key_and_type(raw)
        partition = choose(key, partitions, partitions)
        batch = open_.get(partition)
        if batch is None or batch.append(key=key, value=raw, timestamp=None) is None:
            if batch is not None:
                built[partition].append(batch)
            batch = open_[partition] = producer.create_batch()
            batch.append(key=key, value=raw, timestamp=None)
    for partition, batch in open_.items():
        built[partition].append(batch)
    return built, count


async def _ship(producer: Any, topic: str, built: dict[int, list[Any]]) -> None:
    """Send the batches, one in flight per partition (which keeps each
    partition in order), and wait until the broker has them all."""

    async def one_partition(partition: int, batches: list[Any]) -> None:
        for batch in batches:
            await (await producer.send_batch(batch, topic, partition=partition))

    await asyncio.gather(*(one_partition(p, b) for p, b in built.items()))


BATCH_BYTES = 16_384
"""The record batch size of the drains unless told otherwise: the Kafka producers' default."""


def produce(
    harness: Harness,
    lines: Iterable[bytes],
    batch_bytes: int = BATCH_BYTES,
    on_start: Callable[[], object] = lambda: None,
) -> tuple[int, float]:
    """Send follower-change lines as fast as the broker takes them, in record
    batches of up to `batch_bytes` built beforehand; `on_start` is called as
    the first batch is sent. Return how many lines were sent and the
    `time.perf_counter()` of that first send."""
    from aiokafka import AIOKafkaProducer

    topic = harness.topics.follower_changes

    async def send() -> tuple[int, float]:
        producer = AIOKafkaProducer(
            bootstrap_servers=harness.bootstrap_servers,
            acks="all",
            max_batch_size=batch_bytes,
            max_request_size=max(1 << 20, 2 * batch_bytes),
        )
        await producer.start()
        try:
            partitions = sorted(await producer.partitions_for(topic))
            built, count = _batches(producer, lines, partitions)
            on_start()
            start = time.perf_counter()
            await _ship(producer, topic, built)
            return count, start
        finally:
            await producer.stop()

    return asyncio.run(send())


def _drain(
    harness: Harness,
    lines: Iterable[bytes],
    group: str,
    batch_bytes: int = BATCH_BYTES,
    on_start: Callable[[], object] = lambda: None,
) -> float:
    """Produce `lines` (see `produce`), wait for `group` to commit them all;
    return events/s from the first batch sent (when `on_start` is called)."""
    topics = [harness.topics.follower_changes]
    events, start = produce(harness, lines, batch_bytes, on_start)
    kafka_io.wait_committed(harness.settings, group, topics, timeout=3600)
    return events / (time.perf_counter() - start)


def _cpu_jiffies() -> tuple[int, int]:
    """(busy, total) CPU time of the whole machine so far, from /proc/stat
    ((0, 0) where there is none, as on macOS)."""
    try:
        first = Path("/proc/stat").read_text().split("\n", 1)[0]
    except OSError:
        return 0, 0
    fields = [int(x) for x in first.split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    total = sum(fields[:8])  # guest time is already counted in user
    return total - idle, total


def _drain_busy(harness: Harness, lines: list[bytes], group: str) -> tuple[float, float]:
    """`_drain`, and the fraction of the machine's CPU time that was busy
    while the clock ran (NaN where the machine does not say)."""
    at_start: list[tuple[int, int]] = []
    rate = _drain(harness, lines, group, on_start=lambda: at_start.append(_cpu_jiffies()))
    busy1, total1 = _cpu_jiffies()
    (busy0, total0) = at_start[0]
    return rate, (busy1 - busy0) / (total1 - total0) if total1 > total0 else math.nan


def _check_naive(harness: Harness, worker: Worker) -> None:
    """Refuse a naive figure that measured no work: Faust acks, and so commits,
    records whose value it cannot decode, and restarts a crashed agent."""
    crashes = worker.log.read_text(errors="replace").count("Crashed reason=")
    if crashes or not harness.read(harness.topics.threshold_crossings, timeout=5):
        raise RuntimeError(
            f"the naive agent crashed {crashes} times or emitted no crossing: see {worker.log}"
        )


def _spawn(harness: Harness, name: str, argv: list[str], **env: str) -> Worker:
    """Start a baseline's worker process on the harness's topics, logging to
    `<name>-N.log` in its workdir; the harness kills it on `stop`."""
    log = harness.workdir / f"{name}-{len(harness.workers)}.log"
    with log.open("ab") as out:
        process = subprocess.Popen(
            argv,
            env={**os.environ, **harness.env, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    worker = Worker(process, log)
    harness.workers.append(worker)
    return worker


def _spawn_naive(harness: Harness) -> Worker:
    worker = _spawn(
        harness, "naive", [sys.executable, "-m", "benchmarks.naive_app", "worker", "-l", "info"]
    )
    from streams.cli.worker_process import wait_ready

    wait_ready(worker.log, worker.process, 120)
    return worker


def floor(harness: Harness, lines: list[bytes]) -> float:
    """A bare aiokafka consumer reading every event and decoding its JSON."""
    import json

    from aiokafka import AIOKafkaConsumer, TopicPartition

    t = harness.topics
    produce(harness, lines)

    async def consume() -> float:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=harness.bootstrap_servers, enable_auto_commit=False
        )
        await consumer.start()
        try:
            tp = TopicPartition(t.follower_changes, 0)
            consumer.assign([tp])
            await consumer.seek_to_beginning(tp)
            n, start = 0, time.perf_counter()
            while n < len(lines):
                batches = await consumer.getmany(timeout_ms=500, max_records=10_000)
                for records in batches.values():
                    for r in records:
                        json.loads(r.value)
                    n += len(records)
            return n / (time.perf_counter() - start)
        finally:
            await consumer.stop()

    return asyncio.run(consume())


def floor_confluent(harness: Harness, lines: list[bytes]) -> float:
    """The fastest bare Python consumer we could write: confluent-kafka's batch
    `consume` and orjson, reading every event."""
    from confluent_kafka import Consumer, TopicPartition

    produce(harness, lines)
    consumer = Consumer(
        {
            "bootstrap.servers": harness.bootstrap_servers,
            "group.id": f"{harness.settings.app_id}-floor",
            "enable.auto.commit": False,
            "fetch.max.bytes": 64 * 1024 * 1024,
            "max.partition.fetch.bytes": 16 * 1024 * 1024,
        }
    )
    try:
        consumer.assign([TopicPartition(harness.topics.follower_changes, 0, 0)])
        loads, consume = orjson.loads, consumer.consume
        n, start = 0, time.perf_counter()
        while n < len(lines):
            for message in consume(num_messages=10_000, timeout=0.5):
                loads(message.value() or b"null")
                n += 1
        return n / (time.perf_counter() - start)
    finally:
        consumer.close()


LATENCY_OSCILLATING = 0.1
"""The share of the latency log's events that cross (see `_latency_log`)."""


def _latency_log(n: int) -> Iterator[dict[str, Any]]:
    """The usual mix of events (about 0.3 % cross once the accounts are known)
    on fresh accounts and times, with a tenth of the events replaced by
    accounts that swing between 450,000 and 560,000 followers, so that each of
    those crosses 500K: timing only the usual mix's crossings gave ~770
    samples, too few for a p99; this gives one per ten events."""
    base = time.time_ns() // 1000
    rng = random.Random(3)
    swinging = [0] * 500
    for value in generate_events(n, max(100, n // 10), seed=3, start_us=base):
        # ids of their own: the arrival watch reads the crossings topic from
        # its start, where earlier runs left crossings of the same `ev-N` ids
        event = {
            **value,
            "event_id": f"lat-{value['event_id']}",
            "account_id": f"lat-{value['account_id']}",
        }
        if rng.random() < LATENCY_OSCILLATING:
            i = rng.randrange(len(swinging))
            swinging[i] += 1
            event |= {
                "platform": "weibo",
                "account_id": f"lat-swing{i}",
                "followers": 560_000 if swinging[i] % 2 else 450_000,
                "sequence": swinging[i],
                "delta": None,
            }
        yield event


def latency(harness: Harness, rate: float, n: int) -> tuple[float, float, int]:
    """p50 and p99 (ms) from produce to crossing at a steady `rate` events/s,
    and the number of crossings timed.

    Events that cross are timed from their produce call (see `_offer_load`) to
    the crossing's arrival at a consumer. The load and the watch each run in a
    fresh process of their own, sharing neither a GIL nor a heap with each
    other or with the suite (which holds hundreds of thousands of logged
    lines). The first quarter of the log is sent at the same rate but not
    timed: most accounts' first events arrive then, and a fifth of those
    cross, a start-up burst rather than the steady load. With the standard
    sizes (300,000 events) it times ~22,000 crossings.

    Give it topics of its own: Tansu reads a whole partition on every fetch
    (~0.7 µs per record batch stored), so after the 200,000 events of the
    throughput run in the same partitions p99 was 7-43 ms higher (four
    alternated pairs at 11,500 events/s), a cost Kafka does not have.
    """
    t = harness.topics
    arrived, sent = harness.workdir / "arrivals.tsv", harness.workdir / "sent.tsv"
    spawn = multiprocessing.get_context("spawn")
    stop = spawn.Event()
    watcher = spawn.Process(
        target=_watch_arrivals, args=(harness.settings, t.threshold_crossings, arrived, stop)
    )
    watcher.start()
    load = spawn.Process(
        target=_offer_load, args=(harness.bootstrap_servers, t.follower_changes, rate, n, sent)
    )
    load.start()
    load.join()
    if load.exitcode != 0:
        stop.set()
        raise RuntimeError(f"the load generator failed (exit code {load.exitcode})")
    # committed inputs have acknowledged outputs; give the watcher a moment to read them
    kafka_io.wait_committed(harness.settings, harness.settings.app_id, [t.follower_changes])
    time.sleep(2)
    stop.set()
    watcher.join(30)
    arrivals = _times(arrived)
    sent_at = _times(sent)
    delays = sorted((arrivals[k] - sent_at[k]) * 1000 for k in arrivals if k in sent_at)
    if not delays:
        raise RuntimeError("no crossing arrived after the warm-up: nothing to time")
    return (*_p50_p99(delays), len(delays))


def _times(path: Path, column: int = 1) -> dict[str, float]:
    rows = (line.split("\t") for line in path.read_text().splitlines())
    return {row[0]: float(row[column]) for row in rows}


def latency_parts(harness: Harness) -> tuple[tuple[float, float], tuple[float, float]]:
    """Of `latency`'s last run on `harness`: (p50, p99) ms from produce to the
    worker's send of the crossing (its CreateTime, ms resolution), and from
    that send to the crossing's arrival at the consumer."""
    arrived, sent = harness.workdir / "arrivals.tsv", harness.workdir / "sent.tsv"
    arrivals, sent_at = _times(arrived), _times(sent)
    created = {k: ms / 1000 for k, ms in _times(arrived, column=2).items()}
    timed = [k for k in arrivals if k in sent_at]
    to_send = sorted((created[k] - sent_at[k]) * 1000 for k in timed)
    to_read = sorted((arrivals[k] - created[k]) * 1000 for k in timed)
    return _p50_p99(to_send), _p50_p99(to_read)


def _p50_p99(delays: list[float]) -> tuple[float, float]:
    return statistics.median(delays), delays[int(len(delays) * 0.99) - 1]


def _offer_load(bootstrap: str, topic: str, rate: float, n: int, out: Path) -> None:
    """Send the latency log at `rate` events/s; write `event_id<TAB>send time`
    of every event after the warm-up quarter.

    Every 5 ms the records due by then are produced, each timed (and stamped)
    from then. The producer is librdkafka's, keyed and partitioned as
    `thresholds produce` does (murmur2): it keeps several requests in flight,
    where aiokafka sends a request only after the previous one's answer, so a
    batch waited for its predecessor (4 ms p50, 16-21 ms p99 at 14,000
    events/s) and that wait was counted as the worker's latency.
    """
    from confluent_kafka import KafkaError, Message, Producer

    warm_up = n // 4
    sent: dict[str, float] = {}
    failed: list[KafkaError] = []

    def delivered(error: KafkaError | None, _: Message) -> None:
        if error is not None:
            failed.append(error)

    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "acks": "all",
            "linger.ms": 1,
            "enable.idempotence": False,  # Tansu has no idempotent producer
            "partitioner": "murmur2_random",
        }
    )
    offered = []
    for v in _latency_log(n):
        raw = _dumps(v)
        offered.append((raw, kafka_io.key_and_type(raw)[0], str(v["event_id"])))
    start, i = time.perf_counter(), 0
    while i < len(offered):
        due = min(len(offered), int((time.perf_counter() - start) * rate) + 1)
        now = time.time()
        now_ms = int(now * 1000)
        for j in range(i, due):
            raw, key, event_id = offered[j]
            producer.produce(topic, raw, key, on_delivery=delivered, timestamp=now_ms)
            if j >= warm_up:
                sent[event_id] = now
        producer.poll(0)
        i = due
        time.sleep(0.005)
    unsent = producer.flush(60)
    if unsent or failed:
        raise RuntimeError(f"the load lost {unsent} records and {len(failed)} failed: {failed[:1]}")
    out.write_text("".join(f"{k}\t{v!r}\n" for k, v in sent.items()))


def _watch_arrivals(settings: Any, topic: str, out: Path, stop: Any) -> None:
    """Write `source_event_id<TAB>arrival time` for every crossing read, until `stop`."""
    # a short fetch wait: Tansu answers a fetch that finds nothing only when
    # its wait is over, which would be counted as latency
    consumer = kafka_io.open_consumer(settings, [topic], fetch_max_wait_ms=5)
    seen: dict[str, tuple[float, int]] = {}
    try:
        while not stop.is_set():
            for batch in consumer.poll(timeout_ms=20).values():
                now = time.time()
                for m in batch:
                    # with the crossing's CreateTime: when the worker sent it
                    seen.setdefault(orjson.loads(m.value)["source_event_id"], (now, m.timestamp))
    finally:
        consumer.close()
        out.write_text("".join(f"{k}\t{at!r}\t{sent_ms}\n" for k, (at, sent_ms) in seen.items()))


def _recovery_rate(worker: Worker) -> tuple[int, float]:
    """(records, records/s) of the changelog restore, from the worker's log."""
    text = worker.log.read_text(errors="replace")
    stamp = r"\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3})\]"
    # from the first changelog read (bulk, streams.engine.restore, or Faust's own) to
    # the end of recovery, whoever read the records
    begin = re.search(
        stamp + r".*(?:Reading \d+ changelog partitions in bulk|Restoring state from changelog)",
        text,
    )
    end = re.search(stamp + r".*Recovery complete", text)
    if not begin or not end:
        return 0, 0.0
    fmt = "%Y-%m-%d %H:%M:%S,%f"
    seconds = (
        datetime.strptime(end.group(1), fmt) - datetime.strptime(begin.group(1), fmt)
    ).total_seconds()
    table = re.search(r"Highwater for active changelog partitions:(.*?)active offsets", text, re.S)
    records = 0
    if table:
        for row in re.findall(r"\|\s*\S+changelog\s*\|\s*\d+\s*\|\s*(-?\d+)\s*\|", table.group(1)):
            records += max(0, int(row) + 1)
    return records, records / max(seconds, 1e-3)


def _bytes_per_account(harness: Harness, worker: Worker, accounts: int) -> float:
    """RSS growth per new account, measured between `accounts` and twice as many.

    The first half warms up what does not grow with the accounts (buffers,
    allocator arenas, the batches in flight); the slope over the second half
    is what one more tracked account costs.
    """
    lines = [
        _dumps(follower_change(f"m{i}", 1000 + i % 1000, "2023-11-01T00:00:00Z"))
        for i in range(2 * accounts)
    ]
    _drain(harness, lines[:accounts], harness.settings.app_id)
    middle = _rss_mb(worker.worker_pid)
    _drain(harness, lines[accounts:], harness.settings.app_id)
    return (_rss_mb(worker.worker_pid) - middle) * 1024 * 1024 / accounts


def replay_crossing_ids(lines: list[bytes]) -> set[str]:
    """The event ids of the crossings `thresholds replay` emits for `lines`."""
    replayer = Replayer(Rules(), Topics())
    crossings = Topics().threshold_crossings
    return {
        value["event_id"]
        for line in lines
        for topic, _, value in replayer.feed(line)
        if topic == crossings
    }


def _crossing_ids(h: Harness) -> set[str]:
    return {
        r.value["event_id"]
        for r in h.read(h.topics.threshold_crossings, timeout=60)
        if r.value.get("type") == "ThresholdCrossed"
    }


def _side_app(
    bootstrap: str, name: str, argv: list[str], group_suffix: str, lines: list[bytes], **env: str
) -> tuple[float, set[str]]:
    """One baseline's events/s on fresh topics (the clock starts once it has
    joined its group and committed a warm-up event), and its crossing ids."""
    h = Harness(bootstrap)
    h.create_topics()
    group = f"{h.settings.app_id}-{group_suffix}"
    try:
        worker = _spawn(h, name, argv, **env)
        first = _dumps(follower_change(f"{name}-warm-up", 1, "2023-11-01T00:00:00Z"))
        produce(h, [first])
        try:
            kafka_io.wait_committed(h.settings, group, [h.topics.follower_changes], timeout=180)
        except TimeoutError:
            tail = worker.log.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"{name} did not start: {tail}") from None
        rate = _drain(h, lines, group)
        return rate, _crossing_ids(h)
    finally:
        h.stop()


def build_kafka_streams() -> list[str]:
    """Build `benchmarks/kafka_streams` with Maven (once); the java command that runs it."""
    project = Path(__file__).resolve().parent / "kafka_streams"
    jar = project / "target" / "crossings-kafka-streams-1.jar"
    sources = [project / "pom.xml", *project.rglob("*.java")]
    if not jar.exists() or max(p.stat().st_mtime for p in sources) > jar.stat().st_mtime:
        mvn = ["mvn", "-q", "-B", "package"]  # Maven from the PATH, as the tests use it
        subprocess.run(mvn, cwd=project, check=True, timeout=1200)
    classpath = f"{jar}:{project / 'target' / 'lib'}/*"
    return ["java", "-Xmx1g", "-cp", classpath, "thresholds.CrossingsApp"]


@dataclass
class SideBySide:
    """events/s of each job on the same log, and whether its crossings are replay's."""

    rates: dict[str, float] = field(default_factory=dict)
    same: dict[str, bool] = field(default_factory=dict)


def side_by_side(
    bootstrap: str, lines: list[bytes], quix_python: str | None, kafka_streams: bool
) -> SideBySide:
    """Ours, Quix Streams (its defaults, then our commit interval) and Kafka
    Streams, one worker each on topics of their own, on the same log."""
    out = SideBySide()
    expected = replay_crossing_ids(lines)
    h = Harness(bootstrap)
    h.create_topics()
    h.start_worker()
    try:
        out.rates["ours"] = _drain(h, lines, h.settings.app_id)
        out.same["ours"] = _crossing_ids(h) == expected
    finally:
        h.stop()
    root = str(Path(__file__).resolve().parent.parent)
    if quix_python:
        argv = [quix_python, "-m", "benchmarks.quix_app"]
        for row, interval in (("quix", "5.0"), ("quix_commit_0_5s", "0.5")):
            rate, ids = _side_app(
                bootstrap,
                "quix",
                argv,
                "quix",
                lines,
                PYTHONPATH=root,
                QUIX_COMMIT_INTERVAL=interval,
            )
            out.rates[row], out.same[row] = rate, ids == expected
    if kafka_streams:
        rate, ids = _side_app(bootstrap, "kstreams", build_kafka_streams(), "kstreams", lines)
        out.rates["kafka_streams"], out.same["kafka_streams"] = rate, ids == expected
    return out


def produce_rates(bootstrap: str, lines: list[bytes], rounds: int = 1) -> tuple[float, float]:
    """(`thresholds produce`'s events/s, a bare producer of the same client
    sending the same records, keys computed beforehand): medians of `rounds`
    pairs, the order alternating, fresh topics each. Both clocks include
    making the producer (`produce_lines` makes its own) and the final flush."""
    rates: dict[str, list[float]] = {"ours": [], "bare": []}
    for round_ in range(rounds):
        for who in ("ours", "bare") if round_ % 2 == 0 else ("bare", "ours"):
            rates[who].append((_produce_ours if who == "ours" else _produce_bare)(bootstrap, lines))
    return statistics.median(rates["ours"]), statistics.median(rates["bare"])


def _produce_ours(bootstrap: str, lines: list[bytes]) -> float:
    from streams.kafka.produce import produce_lines

    h = Harness(bootstrap)
    h.create_topics()
    t = h.topics
    start = time.perf_counter()
    produce_lines(h.settings, t.follower_changes, t.verification_results, lines)
    return len(lines) / (time.perf_counter() - start)


def _produce_bare(bootstrap: str, lines: list[bytes]) -> float:
    from streams.kafka.produce import fast_key_and_type, new_producer

    h = Harness(bootstrap)
    h.create_topics()
    keyed = [(fast_key_and_type(line)[0], line) for line in lines]
    start = time.perf_counter()
    producer, failures = new_producer(h.settings)
    send, poll, topic = producer.produce, producer.poll, h.topics.follower_changes
    for key, line in keyed:
        try:
            send(topic, line, key)
        except BufferError:
            poll(0.05)
            send(topic, line, key)
    left = producer.flush(120)
    rate = len(lines) / (time.perf_counter() - start)
    if left or failures:
        raise RuntimeError(f"bare producer: {left} unacknowledged, {failures[:1]}")
    return rate


def rocksdb(
    bootstrap: str, accounts: int, say: Callable[[str], None] = print
) -> tuple[float, int, float]:
    """One worker with the RocksDB store: events/s for one event each of
    `accounts` new accounts, then (records, records/s) of its restore onto an
    empty disk."""
    h = Harness(bootstrap, store="rocksdb://")
    h.create_topics()
    try:
        worker = h.start_worker()
        many = (
            _dumps(follower_change(f"r{i}", 1000 + i % 1000, "2023-11-01T00:00:00Z"))
            for i in range(accounts)
        )
        # 1 MB batches: Tansu's read of a partition grows with its batch count,
        # and at 16 KB a few million records outlast the worker's fetch wait
        events_per_s = _drain(h, many, h.settings.app_id, batch_bytes=1 << 20)
        say("RocksDB recovery onto an empty disk")
        worker.terminate()
        shutil.rmtree(h.workdir / "data")  # a new host: the store is rebuilt from the changelog
        worker = h.start_worker(timeout=1800)
        return (events_per_s, *_recovery_rate(worker))
    finally:
        h.stop()


def _workers(bootstrap: str, n: int, partitions: int = 4) -> Harness:
    """A fresh harness with `n` workers in one group, all ready, the group settled."""
    from streams.cli.worker_process import wait_ready

    h = Harness(bootstrap, partitions=partitions)
    h.create_topics()
    for _ in range(n):
        h.start_worker(wait=False)
    for w in h.workers:
        wait_ready(w.log, w.process, 120)
    time.sleep(2)  # let the group settle after the second join
    return h


def lookup_cost(
    bootstrap: str, lines: list[bytes], per_second: float = 10.0
) -> tuple[float, float, int]:
    """(events/s without lookups, events/s while `per_second` account lookups
    go to the two workers in turn, lookups answered 200), best of two rounds each."""
    from tests.support.operations import get

    keys = sorted(
        {k.decode() for k, _ in (kafka_io.key_and_type(line) for line in lines[:5000]) if k}
    )
    quiet: list[float] = []
    asked: list[float] = []
    answered = 0
    for round_ in range(4):
        h = _workers(bootstrap, 2)
        stop = threading.Event()

        def ask(h: Harness = h, stop: threading.Event = stop) -> None:
            nonlocal answered
            for i, key in enumerate(itertools.cycle(keys)):
                if stop.wait(1 / per_second):
                    return
                platform, account = (quote(part, safe="") for part in key.split(":", 1))
                try:
                    status, _ = get(f"{h.workers[i % 2].url}/accounts/{platform}/{account}")
                except OSError:
                    continue
                answered += status == 200

        if round_ % 2:
            threading.Thread(target=ask, daemon=True).start()
        rate = _drain(h, lines, h.settings.app_id)
        stop.set()
        (asked if round_ % 2 else quiet).append(rate)
        h.stop()
    return max(quiet), max(asked), answered


def _latency_rows(
    bootstrap: str, ours: float, sizes: Sizes, results: Results, target_ms: int
) -> None:
    """latency_p50 / latency_p99 at half of `ours` events/s, on fresh topics."""
    h = Harness(bootstrap)
    h.create_topics()
    h.start_worker()
    try:
        p50, p99, samples = latency(h, ours / 2, sizes.latency_events)
    finally:
        h.stop()
    results.add("latency_p50", p50, "ms", f"produce -> crossing at {ours / 2:,.0f} events/s")
    results.add("latency_p99", p99, "ms", f"target <= {target_ms} ms; {samples:,} crossings")


def run_suite(
    bootstrap: str,
    sizes: Sizes,
    say: Callable[[str], None] = print,
    quix_python: str | None = None,
    kafka_streams: bool = False,
    produce_events: int = 0,
    only_core: bool = False,
    target_ms: int = 20,
) -> Results:
    """Run every measurement (Quix Streams side by side when `quix_python`
    names an interpreter that has it, Kafka Streams with `kafka_streams`,
    `thresholds produce` on `produce_events` events); with `only_core`, the
    floor, naive, ours and latency rows only. Return the figures."""
    results = Results()
    lines = _lines(sizes.events, sizes.accounts, seed=1)

    say("floor: bare consumers")
    h = Harness(bootstrap)
    h.create_topics()
    results.add(
        "floor_confluent",
        floor_confluent(h, lines),
        "events/s",
        "bare confluent-kafka batch consume + orjson",
    )
    h = Harness(bootstrap)
    h.create_topics()
    results.add("floor", floor(h, lines), "events/s", "bare aiokafka consumer + json.loads")

    say("naive Faust agent")
    h = Harness(bootstrap)
    h.create_topics()
    naive_worker = _spawn_naive(h)
    naive = _drain(h, lines[: sizes.naive_events], f"{h.settings.app_id}-naive")
    _check_naive(h, naive_worker)
    h.stop()
    results.add("naive", naive, "events/s", "Table get/set per event, awaited send per crossing")

    say("ours, one worker, memory store")
    h = Harness(bootstrap)
    h.create_topics()
    worker = h.start_worker()
    rss: list[float] = []
    sampling = threading.Event()

    def sample() -> None:
        while not sampling.is_set():
            rss.append(_rss_mb(worker.worker_pid))
            time.sleep(0.5)

    threading.Thread(target=sample, daemon=True).start()
    ours = _drain(h, lines, h.settings.app_id)
    results.add("ours", ours, "events/s", f"ratio to naive {ours / naive:.1f}x (target >= 3x)")
    if only_core:
        sampling.set()
        h.stop()
        say("latency at half of the measured maximum, on topics of its own")
        _latency_rows(bootstrap, ours, sizes, results, target_ms)
        return results

    say("recovery speed (memory store: the whole changelog is read)")
    sampling.set()
    worker.kill()
    worker = h.start_worker(timeout=300)
    records, rate = _recovery_rate(worker)
    results.add(
        "recovery", rate, "records/s", f"{records:,} changelog records (target >= 100,000/s)"
    )

    say("RSS over a long run")
    # sampled over the long run alone, whose first half warms the restarted
    # worker up (its RSS grows over its first few hundred thousand events)
    rss.clear()
    sampling = threading.Event()
    threading.Thread(target=sample, daemon=True).start()
    # a later stretch of time, so the long run is fresh events, not stale ones
    later = 1_800_000_000 * 1_000_000
    long_lines = _lines(sizes.long_run_events, sizes.accounts, seed=2, start_us=later)
    _drain(h, long_lines, h.settings.app_id)
    sampling.set()
    half = rss[len(rss) // 2 :] or rss
    results.add("rss_start", rss[0], "MB")
    results.add("rss_end", rss[-1], "MB", f"max {max(rss):.0f} MB; flat = end within 10% of mid")
    results.add("rss_growth_second_half", (half[-1] - half[0]) / max(half[0], 1) * 100, "%")

    h.stop()

    say("latency at half of the measured maximum, on topics of its own")
    _latency_rows(bootstrap, ours, sizes, results, target_ms)

    say("time to processing again: kill -9, then a clean stop, each followed by a new worker")
    for how, stop in (("kill_9", Worker.kill), ("sigterm", Worker.terminate)):
        h = Harness(bootstrap)
        h.create_topics()
        try:
            seconds = seconds_to_processing(h, stop)
        finally:
            h.stop()
        results.add(
            f"restart_after_{how}",
            seconds,
            "s",
            "stop -> a new worker's first crossing (Kafka: session timeout 10 s + 10 s)",
        )

    say("memory per tracked account")
    h = Harness(bootstrap)
    h.create_topics()
    worker = h.start_worker()
    per_account = _bytes_per_account(h, worker, sizes.memory_accounts)
    results.add(
        "bytes_per_account",
        per_account,
        "bytes",
        f"RSS slope over the last {sizes.memory_accounts:,} new accounts (target <= 200)",
    )
    h.stop()

    say(f"RocksDB store, {sizes.rocksdb_accounts:,} accounts")
    rocks, records, rate = rocksdb(bootstrap, sizes.rocksdb_accounts, say)
    results.add("rocksdb", rocks, "events/s", f"{sizes.rocksdb_accounts:,} accounts, RocksDB store")
    results.add(
        "rocksdb_recovery",
        rate,
        "records/s",
        f"{records:,} changelog records onto an empty disk (target >= 100,000/s)",
    )

    say("scale-out: two workers against one, 4 partitions")
    rates, busy = [], []
    for n_workers in (1, 2):
        h = _workers(bootstrap, n_workers)
        rate, fraction = _drain_busy(h, lines, h.settings.app_id)
        rates.append(rate)
        busy.append(fraction)
        h.stop()
    cores = os.cpu_count() or 1
    results.add(
        "one_worker_4p", rates[0], "events/s", f"machine busy {busy[0]:.0%} of {cores} cores"
    )
    results.add(
        "two_workers_4p",
        rates[1],
        "events/s",
        f"scaling {rates[1] / rates[0]:.2f}x (target >= 1.6x); machine busy {busy[1]:.0%}",
    )
    say("account lookups: 10 a second against two workers, 4 partitions")
    quiet, asked, answered = lookup_cost(bootstrap, lines)
    results.add(
        "lookups_10_per_s",
        asked,
        "events/s",
        f"{answered} lookups answered; rate {asked / quiet:.3f}x of {quiet:,.0f} "
        "without lookups (target >= 0.95x)",
    )
    say("side by side on one log: ours, Quix Streams, Kafka Streams (one worker each)")
    log = _lines(sizes.quix_events, max(300, sizes.quix_events // 10), seed=4)
    jobs = side_by_side(bootstrap, log, quix_python, kafka_streams)
    ours_rate = jobs.rates["ours"]

    def same(job: str) -> str:
        return "same crossings as replay: " + ("yes" if jobs.same[job] else "NO")

    results.add("ours_same_log", ours_rate, "events/s", f"{len(log):,} events; {same('ours')}")
    if "quix" in jobs.rates:
        quix_rate, quix_fast = jobs.rates["quix"], jobs.rates["quix_commit_0_5s"]
        results.add(
            "quix",
            quix_rate,
            "events/s",
            f"Quix Streams, its defaults (5 s commits); ours / quix "
            f"{ours_rate / quix_rate:.2f}x (target >= 1.5x); {same('quix')}",
        )
        results.add(
            "quix_commit_0_5s",
            quix_fast,
            "events/s",
            f"Quix Streams committing every 0.5 s as ours; ours / it "
            f"{ours_rate / quix_fast:.2f}x (target >= 3x); {same('quix_commit_0_5s')}",
        )
    if "kafka_streams" in jobs.rates:
        ks = jobs.rates["kafka_streams"]
        results.add(
            "kafka_streams",
            ks,
            "events/s",
            f"Kafka Streams 4.1.1, RocksDB store + changelog, 0.5 s commits; ours / it "
            f"{ours_rate / ks:.2f}x (goal >= 0.3x); {same('kafka_streams')}",
        )
    if produce_events:
        say(f"thresholds produce: {produce_events:,} events")
        lines_1m = _lines(produce_events, max(300, produce_events // 10), seed=6)
        ours_p, bare_p = produce_rates(bootstrap, lines_1m)
        results.add(
            "produce",
            ours_p,
            "events/s",
            f"thresholds produce (confluent-kafka); {ours_p / bare_p:.2f}x a bare producer "
            "of the same client (target >= 100,000/s)",
        )
        results.add("produce_bare", bare_p, "events/s", "bare confluent-kafka producer, pre-keyed")
    return results
