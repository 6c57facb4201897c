"""Like for like: each engine runs the same crossing job on the same log, on
the same broker, with its work, its store and its settings said per row.

- every job starts on fresh topics and is warmed up on WARM_UP events (with
  crossings) before its clock starts: a JVM's JIT, RocksDB's caches and
  Python's imports are all hot when the measured log arrives;
- three rounds per row, the rows' order alternating between rounds; each row
  reports the median events/s, the spread (min-max), and the CPU-seconds per
  event of the job's own processes (the broker shares the two cores); the
  clock runs from the first measured event sent to the last crossing
  written (not to the job's next commit: commit intervals differ);
- every round's crossings are checked against `thresholds replay` of the
  same lines, ids and payloads, duplicates counted: a missing, extra or
  different crossing fails the run.

    python -m benchmarks.like_for_like [--events N] [--rounds 3] [--quix PY] [--no-kafka-streams]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.results_file import publish
from benchmarks.suite import (
    BATCH_BYTES,
    _lines,
    _spawn,
    build_kafka_streams,
    produce,
)
from streams.cli.sandbox import Harness, Worker
from streams.core.rules import Rules
from streams.kafka import client as kafka_io
from streams.kafka.verify import Report, compare, expected_from_log
from streams.testing.harness import find_broker

WARM_UP = 100_000
"""Events each job processes before its clock starts."""

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Job:
    """One row: how to start the job on a harness, and what it does."""

    name: str
    store: str
    work: str
    settings: str
    group_suffix: str | None  # the job's consumer group: app id + this (None: ours)
    start: Callable[[Harness], Worker]
    policy: bool = True  # ours: with the policy agent


def _ours(h: Harness) -> Worker:
    return h.start_worker(timeout=120)


def jobs(quix_python: str | None, kafka_streams: bool) -> list[Job]:
    """The rows, in their first round's order."""
    ours_work = (
        "crossings + policy agent (co-partitioned), strict decoding, dead letters, "
        "redelivery check, state before offsets"
    )
    rows = [
        Job("ours_rocksdb", "rocksdb://", ours_work, "defaults (0.5 s commits)", None, _ours),
        Job("ours_memory", "memory://", ours_work, "defaults (0.5 s commits)", None, _ours),
        Job(
            "ours_rocksdb_no_policy",
            "rocksdb://",
            ours_work.replace("crossings + policy agent (co-partitioned)", "crossings alone"),
            "defaults, THRESHOLDS_POLICY=off",
            None,
            _ours,
            policy=False,
        ),
    ]
    if quix_python:
        quix = [quix_python, "-m", "benchmarks.quix_app"]
        work = "crossings, one stateful apply per event, JSON serdes"
        for name, interval, said in (
            ("quix_defaults", "5.0", "defaults (5 s commits)"),
            ("quix_commit_0_5s", "0.5", "ours' commit interval (0.5 s)"),
        ):
            rows.append(
                Job(
                    name,
                    "RocksDB (Quix's)",
                    work,
                    said,
                    "quix",
                    _baseline("quix", quix, PYTHONPATH=str(ROOT), QUIX_COMMIT_INTERVAL=interval),
                )
            )
    if kafka_streams:
        java = build_kafka_streams()
        work = "crossings, one Processor with a cached RocksDB store, no dead letters"
        for name, profile, said in (
            ("kafka_streams_defaults", "defaults", "defaults (30 s commits, 10 MB cache)"),
            (
                "kafka_streams_tuned",
                "tuned",
                "64 MB cache, linger 20 ms, 256 KB batches, 5,000 records a poll",
            ),
        ):
            rows.append(
                Job(
                    name,
                    "RocksDB",
                    work,
                    said,
                    "kstreams",
                    _baseline("kstreams", java, KS_PROFILE=profile),
                )
            )
    return rows


def _baseline(name: str, argv: list[str], **env: str) -> Callable[[Harness], Worker]:
    def start(h: Harness) -> Worker:
        return _spawn(h, name, argv, **env)

    return start


def cpu_seconds(session: int) -> float:
    """User + system CPU time of the live processes of `session` (a job and its children)."""
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[3]) == session:  # fields after the name: state ppid pgrp session ...
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / 100.0  # USER_HZ


@dataclass
class Round:
    """One run of one job."""

    rate: float  # to the last crossing written
    durable_rate: float  # to the group's commit of the whole log
    cpu_per_event: float  # the job's own processes, to the commit
    report: Report


@dataclass
class Row:
    """Every round of one job."""

    job: Job
    rounds: list[Round] = field(default_factory=list)

    def median(self) -> float:
        return statistics.median(r.rate for r in self.rounds)

    def spread(self) -> tuple[float, float]:
        return min(r.rate for r in self.rounds), max(r.rate for r in self.rounds)

    def cpu(self) -> float:
        return statistics.median(r.cpu_per_event for r in self.rounds)

    def durable(self) -> float:
        return statistics.median(r.durable_rate for r in self.rounds)


def one_round(bootstrap: str, job: Job, warm: list[bytes], measured: list[bytes]) -> Round:
    """Start `job` on fresh topics, warm it up, time `measured`, check every crossing."""
    store = job.store if job.store.endswith("://") else "memory://"
    h = Harness(bootstrap, store=store, policy=job.policy)
    h.create_topics()
    group = h.settings.app_id + (f"-{job.group_suffix}" if job.group_suffix else "")
    topics = [h.topics.follower_changes]
    try:
        worker = job.start(h)
        produce(h, warm, BATCH_BYTES)
        try:
            kafka_io.wait_committed(h.settings, group, topics, timeout=600)
        except TimeoutError:
            tail = worker.log.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"{job.name} did not take its warm-up: {tail}") from None
        log = h.workdir / "log.jsonl"
        log.write_bytes(b"".join(line + b"\n" for line in [*warm, *measured]))
        crossings = h.topics.threshold_crossings
        expected = expected_from_log(log, Rules(), h.settings)[crossings]
        cpu_before = cpu_seconds(worker.process.pid)
        events, started = produce(h, measured, BATCH_BYTES)
        # two clocks: to the last crossing on the topic (a job's commit
        # interval, Kafka Streams' 30 s by default, does not count), and to
        # the group's commit of the whole log (the work a job defers to its
        # commit, state flushes included, does)
        _wait_written(h, crossings, len(expected))
        written = time.perf_counter() - started
        kafka_io.wait_committed(h.settings, group, topics, timeout=3600)
        durable = time.perf_counter() - started
        cpu = cpu_seconds(worker.process.pid) - cpu_before
        actual = [r.value for r in h.read(crossings, timeout=120)]
        report = compare(expected, [v for v in actual if v.get("type") == "ThresholdCrossed"])
        if not report.ok:
            raise RuntimeError(
                f"{job.name}: its crossings are not replay's: missing {len(report.missing)}, "
                f"extra {len(report.extra)}, different {len(report.conflicting)} "
                f"(first: {(report.missing or report.extra or report.conflicting)[:1]})"
            )
        return Round(events / written, events / durable, cpu / events, report)
    finally:
        h.stop()


def _wait_written(h: Harness, topic: str, count: int, timeout: float = 3600) -> None:
    """Until `topic` holds at least `count` records."""
    from kafka import TopicPartition

    tps = [TopicPartition(topic, p) for p in range(h.partitions)]
    deadline = time.monotonic() + timeout
    while sum(kafka_io.high_watermarks(h.settings, tps).values()) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{topic} did not reach {count} records")
        time.sleep(0.05)


def _orders(rows: list[Job], rounds: int) -> Iterator[list[Job]]:
    for i in range(rounds):
        yield rows if i % 2 == 0 else rows[::-1]


def run(
    bootstrap: str,
    rows: list[Job],
    events: int,
    rounds: int,
    warm_up: int = WARM_UP,
    say: Callable[[str], None] = print,
) -> list[Row]:
    """Every row `rounds` times, in alternating order."""
    warm = _lines(warm_up, max(300, warm_up // 10), seed=60)
    # the measured log's accounts are not the warm-up's: every event is new work
    measured = [
        line.replace(b'"account_id":"', b'"account_id":"m-')
        for line in _lines(events, max(300, events // 10), seed=61)
    ]
    results = {job.name: Row(job) for job in rows}
    for n, order in enumerate(_orders(rows, rounds), 1):
        for job in order:
            done = one_round(bootstrap, job, warm, measured)
            results[job.name].rounds.append(done)
            say(
                f"round {n} {job.name}: {done.rate:,.0f} events/s "
                f"({done.durable_rate:,.0f} to the commit), "
                f"{done.cpu_per_event * 1e6:.0f} CPU-us/event, "
                f"{done.report.expected:,} crossings as replay, "
                f"{done.report.duplicates} duplicates"
            )
    return [results[job.name] for job in rows]


def table(rows: list[Row], events: int, warm_up: int, load: str) -> str:
    """RESULTS.md's table of the run."""
    out = [
        f"{events:,} measured events after a {warm_up:,}-event warm-up; {load}",
        "",
        "| job | store | work | settings | events/s (median) | spread "
        "| events/s to the commit | CPU-us/event | ours_rocksdb / it |",
        "|---|---|---|---|---:|---:|---:|---:|---:|",
    ]
    base = next((r.median() for r in rows if r.job.name == "ours_rocksdb"), None)
    for r in rows:
        low, high = r.spread()
        ratio = f"{base / r.median():.2f}x" if base else ""  # above 1: ours is faster
        out.append(
            f"| {r.job.name} | {r.job.store} | {r.job.work} | {r.job.settings} | "
            f"{r.median():,.0f} | {low:,.0f}-{high:,.0f} | {r.durable():,.0f} | "
            f"{r.cpu() * 1e6:.0f} | {ratio} |"
        )
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    """Run the rows on the first broker available and print RESULTS.md's table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warm-up", type=int, default=WARM_UP, help="events before the clock")
    parser.add_argument("--quix", default=None, help="a Python with quixstreams")
    parser.add_argument("--no-kafka-streams", action="store_true")
    parser.add_argument(
        "--write", action="store_true", help="put the table into RESULTS.md ('Like for like')"
    )
    args = parser.parse_args(argv)
    broker = find_broker()
    try:
        rows = jobs(args.quix, not args.no_kafka_streams)
        busy_before = time.perf_counter()
        done = run(broker.bootstrap_servers, rows, args.events, args.rounds, args.warm_up)
        load = f"{time.perf_counter() - busy_before:.0f} s in all, broker: {broker.kind}"
        result = table(done, args.events, args.warm_up, load)
        publish("Like for like", "python -m benchmarks.like_for_like --write", result, args.write)
    finally:
        broker.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
