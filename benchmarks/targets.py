"""Issue #30's targets besides the like-for-like rows, measured in one run on
one broker:

- scaling: two workers against one, 4 partitions, the same log on fresh
  topics, rounds alternating (1, 2, 2, 1, ...), target >= 1.8x;
- latency: p50/p99 from produce to crossing at half of one worker's median
  rate, at least 10,000 timed crossings (`suite.latency`), for each fetch
  wait tried, each twice (rounds alternating), with its two parts (to the
  worker's send of the crossing, and from there to the reader); the wait to
  run on this broker is the one with the lowest median p99, target <= 20 ms;
- `thresholds produce` against a bare producer of the same client and
  settings sending the same 1,000,000 records (`suite.produce_rates`, three
  pairs alternating, each clock from making the producer to its flush),
  target >= 0.6x.

Every worker runs at its defaults (the memory store) apart from the fetch
wait of the latency rows. python -m benchmarks.targets [--events N]
[--rounds 2] [--waits 5,20,100] [--latency-events N] [--latency-rounds 2]
[--produce-events N] [--write]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from dataclasses import dataclass

from benchmarks.results_file import publish
from benchmarks.suite import (
    _drain_busy,
    _lines,
    _workers,
    latency,
    latency_parts,
    produce_rates,
)
from streams.testing.harness import Harness, find_broker

__all__ = ["main"]

LATENCY_EVENTS = 300_000
"""Events offered per latency row: ~22,000 timed crossings (`suite._latency_log`)."""


def scaling(bootstrap: str, lines: list[bytes], rounds: int) -> dict[int, list[float]]:
    """events/s of one and of two workers per round, the order alternating."""
    rates: dict[int, list[float]] = {1: [], 2: []}
    for round_ in range(rounds):
        for n in (1, 2) if round_ % 2 == 0 else (2, 1):
            h = _workers(bootstrap, n)
            try:
                rate, _ = _drain_busy(h, lines, h.settings.app_id)
            finally:
                h.stop()
            rates[n].append(rate)
            print(f"round {round_ + 1}: {n} worker(s) {rate:,.0f} events/s", flush=True)
    return rates


@dataclass(frozen=True)
class Latency:
    """One latency run: produce -> crossing, and its two parts (p50, p99 in ms)."""

    p50: float
    p99: float
    samples: int
    to_send: tuple[float, float]  # produce -> the worker's send of the crossing
    to_read: tuple[float, float]  # that send -> the crossing read back


def latency_at(bootstrap: str, rate: float, wait_ms: int, events: int = LATENCY_EVENTS) -> Latency:
    """A latency run with the worker's fetch wait at `wait_ms`, fresh topics."""
    os.environ["THRESHOLDS_FETCH_MAX_WAIT_MS"] = str(wait_ms)  # the worker's environment
    try:
        h = Harness(bootstrap)
        h.create_topics()
        h.start_worker()
        try:
            p50, p99, samples = latency(h, rate, events)
            return Latency(p50, p99, samples, *latency_parts(h))
        finally:
            h.stop()
    finally:
        del os.environ["THRESHOLDS_FETCH_MAX_WAIT_MS"]


def latencies(
    bootstrap: str, rate: float, waits: list[int], rounds: int, events: int
) -> dict[int, list[Latency]]:
    """Each fetch wait `rounds` times, the waits' order alternating: one run's
    p99 on two shared cores moved by tens of ms between runs of one build."""
    runs: dict[int, list[Latency]] = {wait: [] for wait in waits}
    for round_ in range(rounds):
        for wait in waits if round_ % 2 == 0 else waits[::-1]:
            run = latency_at(bootstrap, rate, wait, events)
            runs[wait].append(run)
            print(
                f"round {round_ + 1}: fetch wait {wait} ms: p50 {run.p50:.1f} ms, "
                f"p99 {run.p99:.1f} ms, {run.samples:,} crossings",
                flush=True,
            )
    return runs


def _latency_row(rate: float, wait: int, runs: list[Latency]) -> str:
    p99s = [r.p99 for r in runs]
    med = statistics.median
    return (
        f"| p50 / p99 produce -> crossing at {rate:,.0f} events/s, fetch wait {wait} ms "
        f"(median of {len(runs)}) | {med(r.p50 for r in runs):.1f} / {med(p99s):.1f} ms "
        f"(p99 {min(p99s):.1f}-{max(p99s):.1f}; {min(r.samples for r in runs):,} crossings a run; "
        f"to the worker's send {med(r.to_send[0] for r in runs):.1f} / "
        f"{med(r.to_send[1] for r in runs):.1f}, send to read "
        f"{med(r.to_read[0] for r in runs):.1f} / {med(r.to_read[1] for r in runs):.1f}) "
        "| p99 <= 20 ms |"
    )


def main(argv: list[str] | None = None) -> int:
    """Run the three measures and print (or `--write`) the section."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--waits", default="5,20,100", help="fetch waits to try (ms)")
    parser.add_argument("--latency-events", type=int, default=LATENCY_EVENTS)
    parser.add_argument("--latency-rounds", type=int, default=2)
    parser.add_argument("--produce-events", type=int, default=1_000_000)
    parser.add_argument("--write", action="store_true", help="into RESULTS.md ('Targets')")
    args = parser.parse_args(argv)
    waits = [int(w) for w in args.waits.split(",")]
    broker = find_broker()
    began = time.perf_counter()
    try:
        bootstrap = broker.bootstrap_servers
        lines = _lines(args.events, max(300, args.events // 10), seed=5)
        rates = scaling(bootstrap, lines, args.rounds)
        one, two = statistics.median(rates[1]), statistics.median(rates[2])
        rows = [
            "| measure | value | target |",
            "|---|---:|---|",
            f"| one worker, 4 partitions (median of {len(rates[1])}) | {one:,.0f} events/s "
            f"({min(rates[1]):,.0f}-{max(rates[1]):,.0f}) | |",
            f"| two workers, 4 partitions | {two:,.0f} events/s "
            f"({min(rates[2]):,.0f}-{max(rates[2]):,.0f}) | |",
            f"| two workers / one | {two / one:.2f}x | >= 1.8x |",
        ]
        runs = latencies(bootstrap, one / 2, waits, args.latency_rounds, args.latency_events)
        rows += [_latency_row(one / 2, wait, runs[wait]) for wait in waits]
        chosen = min(waits, key=lambda wait: statistics.median(r.p99 for r in runs[wait]))
        rows.append(f"| the fetch wait for {broker.kind}, by median p99 | {chosen} ms | |")
        produced = _lines(args.produce_events, max(300, args.produce_events // 10), seed=6)
        ours, bare = produce_rates(bootstrap, produced, rounds=3)
        rows += [
            f"| `thresholds produce`, {len(produced):,} lines (median of 3) "
            f"| {ours:,.0f} events/s | |",
            f"| a bare producer, same client and settings | {bare:,.0f} events/s | |",
            f"| produce / bare | {ours / bare:.2f}x | >= 0.6x |",
        ]
        load = f"{time.perf_counter() - began:.0f} s in all, broker: {broker.kind}"
        body = f"{args.events:,} events per scaling round; {load}\n\n" + "\n".join(rows)
        publish("Targets", "python -m benchmarks.targets --write", body, args.write)
    finally:
        broker.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
