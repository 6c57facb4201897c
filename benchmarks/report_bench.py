"""The impact report (two scenarios) against one `thresholds replay` of the
same log, in the same run (target: report <= 0.75x replay's time).

python -m benchmarks.report_bench [--events N] [--jobs N]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from streams.testing.logs import generate_events, write_log

__all__ = ["measure_report"]

ROLLOUT = Path(__file__).parent.parent / "streams" / "samples" / "rollout.toml"


def _seconds(*args: str) -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "streams.cli", *args],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def measure_report(events: int, jobs: int | None = None) -> dict[str, float]:
    """Seconds of one replay and of a two-scenario report of the same log."""
    jobs = jobs or os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "log.jsonl"
        write_log(log, generate_events(events, max(1000, events // 20)))
        replay = _seconds("replay", str(log), "--output", f"{tmp}/out.jsonl")
        report = _two_scenarios(tmp, log, jobs)
    return {"events": events, "replay_s": replay, "report_s": report, "ratio": report / replay}


def _two_scenarios(tmp: str, log: Path, jobs: int) -> float:
    stricter = Path(tmp) / "stricter.toml"
    stricter.write_text("thresholds = [300_000, 500_000, 1_000_000]\nhysteresis = 0.05\n")
    return _seconds(
        "report",
        str(log),
        "--config",
        str(ROLLOUT),
        "--config",
        str(stricter),
        "--out",
        f"{tmp}/report",
        "--jobs",
        str(jobs),
    )


def main() -> None:
    """Print the row."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--jobs", type=int, default=None)
    parser.add_argument(
        "--write", action="store_true", help="put the figures into RESULTS.md ('The impact report')"
    )
    args = parser.parse_args()
    r = measure_report(args.events, args.jobs)
    jobs = args.jobs or os.cpu_count() or 1
    rows = "\n".join(
        [
            f"events                 {r['events']:>12,.0f}",
            f"thresholds replay      {r['replay_s']:>12.1f} s",
            f"report, 2 scenarios    {r['report_s']:>12.1f} s   (--jobs {jobs})",
            f"ratio report/replay    {r['ratio']:>12.2f}  (target <= 0.75)",
        ]
    )
    print(rows)
    if args.write:
        from benchmarks.results_file import record_section

        record_section(
            "The impact report",
            "python -m benchmarks.report_bench --write",
            f"```\n{rows}\n```",
        )


if __name__ == "__main__":
    main()
