"""What exactly-once costs: one worker's throughput in each processing
guarantee, on the same log, in the same run, rounds alternated.

    python -m benchmarks.guarantees [--events N] [--rounds R]

On Apache Kafka (started here from the tests' jars unless
`KAFKA_BOOTSTRAP_SERVERS` is set; Tansu has no transactions). Each round
starts one worker on fresh topics (4 partitions, the memory store), builds
the log's record batches, starts the clock as the first is sent and stops it
when the group has committed the last input offset; then it checks the
crossing ids (read `read_committed` under exactly_once) against replay's and
counts duplicates. Prints the median, the spread and the worker's CPU
seconds per 1,000 events; the figures go to benchmarks/RESULTS.md by hand.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

from benchmarks.suite import _drain, _lines, replay_crossing_ids
from streams.cli.worker_process import wait_ready
from streams.testing.harness import Harness, find_broker

GUARANTEES = ("at_least_once", "exactly_once")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and its children that have exited."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(x) for x in fields[11:15])
    return ticks / os.sysconf("SC_CLK_TCK")


def one_round(
    bootstrap: str, guarantee: str, lines: list[bytes], replication: int = 1
) -> tuple[float, float]:
    """(events/s, worker CPU seconds per 1,000 events) of one worker on `lines`;
    raises when its crossings differ from replay's or repeat under exactly_once."""
    harness = Harness(
        bootstrap, partitions=4, replication=replication, processing_guarantee=guarantee
    )
    harness.create_topics()
    try:
        worker = harness.start_worker(wait=False)
        wait_ready(worker.log, worker.process, 120)
        pid = worker.worker_pid
        cpu_before = _cpu_seconds(pid)
        rate = _drain(harness, lines, harness.settings.app_id)
        cpu = _cpu_seconds(pid) - cpu_before
        records = harness.read(
            harness.topics.threshold_crossings,
            timeout=120,
            committed_only=guarantee == "exactly_once",
        )
        ids = Counter(r.value["event_id"] for r in records)
        expected = replay_crossing_ids(lines)
        if set(ids) != expected:
            raise RuntimeError(f"{guarantee}: crossings differ from replay's")
        repeated = sum(n - 1 for n in ids.values())
        if guarantee == "exactly_once" and repeated:
            raise RuntimeError(f"exactly_once: {repeated} crossings read twice")
        return rate, 1000 * cpu / len(lines)
    finally:
        harness.stop()


def main(argv: list[str] | None = None) -> int:
    """Run the rounds and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=300_000)
    parser.add_argument("--accounts", type=int, default=30_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    os.environ.setdefault("THRESHOLDS_TEST_BROKER", "apache-kafka")
    broker = find_broker()
    if broker.kind == "tansu":
        print("exactly_once needs Apache Kafka (Tansu has no transactions)", file=sys.stderr)
        return 2
    lines = _lines(args.events, args.accounts, seed=31, start_us=time.time_ns() // 1000)
    rates: dict[str, list[float]] = {g: [] for g in GUARANTEES}
    cpus: dict[str, list[float]] = {g: [] for g in GUARANTEES}
    try:
        for n in range(args.rounds):
            order = GUARANTEES if n % 2 == 0 else GUARANTEES[::-1]
            for guarantee in order:
                rate, cpu = one_round(broker.bootstrap_servers, guarantee, lines)
                rates[guarantee].append(rate)
                cpus[guarantee].append(cpu)
                print(f"round {n + 1} {guarantee}: {rate:,.0f} events/s, {cpu:.3f} CPU s/1k")
    finally:
        broker.stop()
    print(f"\n{args.events:,} events, {args.accounts:,} accounts, one worker, 4 partitions")
    for guarantee in GUARANTEES:
        r = rates[guarantee]
        print(
            f"{guarantee:14} median {statistics.median(r):,.0f} events/s "
            f"(min {min(r):,.0f}, max {max(r):,.0f}); "
            f"{statistics.median(cpus[guarantee]):.3f} worker CPU s per 1,000 events"
        )
    ratio = statistics.median(rates["exactly_once"]) / statistics.median(rates["at_least_once"])
    print(f"exactly_once / at_least_once: {ratio:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
