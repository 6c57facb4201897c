"""The price of durability: one worker's throughput on a three-node Apache
Kafka (replication 3, min ISR 2, acks=all) against the one-node broker, on
the same log, in the same run, rounds alternated.

    python -m benchmarks.durability [--events N] [--rounds R] [--guarantee G]

Both brokers are started here from the tests' jars and run side by side
(idle while the other is measured). Each round is `benchmarks.guarantees`'s:
one worker on fresh topics, the clock from the first record batch sent to
the last input offset committed, the crossings checked against replay's.
"""

from __future__ import annotations

import argparse
import statistics
import time

from benchmarks.guarantees import one_round
from benchmarks.suite import _lines
from streams.kafka.apache import start_apache_kafka
from streams.kafka.apache.cluster import start_apache_kafka_cluster


def main(argv: list[str] | None = None) -> int:
    """Run the rounds and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--guarantee", default="at_least_once")
    args = parser.parse_args(argv)
    lines = _lines(args.events, args.accounts, seed=32, start_us=time.time_ns() // 1000)
    single = start_apache_kafka()
    cluster = start_apache_kafka_cluster(3)
    brokers = {
        "one node": (single.bootstrap_servers, 1),
        "three nodes, RF 3": (cluster.bootstrap_servers, 3),
    }
    rates: dict[str, list[float]] = {name: [] for name in brokers}
    try:
        for n in range(args.rounds):
            order = list(brokers) if n % 2 == 0 else list(brokers)[::-1]
            for name in order:
                bootstrap, replication = brokers[name]
                rate, cpu = one_round(bootstrap, args.guarantee, lines, replication)
                rates[name].append(rate)
                print(f"round {n + 1} {name}: {rate:,.0f} events/s, {cpu:.3f} CPU s/1k")
    finally:
        single.stop()
        cluster.stop()
    print(f"\n{args.events:,} events, one worker, 4 partitions, {args.guarantee}")
    for name, r in rates.items():
        median = statistics.median(r)
        print(f"{name:18} median {median:,.0f} events/s (min {min(r):,.0f}, max {max(r):,.0f})")
    ratio = statistics.median(rates["three nodes, RF 3"]) / statistics.median(rates["one node"])
    print(f"three nodes / one node: {ratio:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
