"""Offline replay vs a bare `json.loads` loop over the same lines, in one run.

python -m benchmarks.replay_bench [--events N]
"""

from __future__ import annotations

import argparse
import io
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from streams.core.rules import Rules
from streams.process.replay import Replayer, iter_lines, replay_lines
from streams.testing.logs import generate_events, write_log

__all__ = ["measure"]


def _seconds(fn: Callable[[], None]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def measure(events: int, runs: int = 3) -> dict[str, float]:
    """Lines per second of json.loads and of replay, and their ratio."""
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "log.jsonl"
        write_log(log, generate_events(events, max(1000, events // 20)))
        out = Path(tmp) / "out.jsonl"

        def bare() -> None:
            loads = json.loads
            with log.open("rb") as f:
                for line in f:
                    loads(line)

        def replay() -> None:
            with log.open("rb") as f, out.open("wb") as sink:
                writer = io.BufferedWriter(sink, 1 << 20)
                replay_lines(iter_lines(f), writer.write, Replayer(Rules()))
                writer.flush()

        # alternated, best of each: a noisy neighbour slows both, not one
        t_json = t_replay = float("inf")
        for _ in range(runs):
            t_json = min(t_json, _seconds(bare))
            t_replay = min(t_replay, _seconds(replay))
    return {
        "events": events,
        "json_loads_lines_per_s": events / t_json,
        "replay_lines_per_s": events / t_replay,
        "ratio": t_json / t_replay,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    r = measure(args.events, args.runs)
    print(f"events                 {r['events']:>12,.0f}")
    print(f"bare json.loads        {r['json_loads_lines_per_s']:>12,.0f} lines/s")
    print(f"thresholds replay      {r['replay_lines_per_s']:>12,.0f} lines/s")
    print(f"ratio replay/json      {r['ratio']:>12.2f}  (target >= 1.0)")


if __name__ == "__main__":
    main()
