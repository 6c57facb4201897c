"""`thresholds report LOG [--config FILE]... [--out DIR] [--jobs N]`."""

from __future__ import annotations

import argparse
import os
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import orjson

from streams.config import ConfigError, Settings, Topics, load_rules
from streams.core.rules import Rules
from streams.process.impact import Scenario, Tally, summary, tally_scenarios

__all__ = ["register", "run_report"]


class ReportError(ConfigError):
    """A one-line refusal (exit 2)."""


def _scenarios(configs: list[str] | None) -> list[Scenario]:
    if not configs:
        return [Scenario("default", Rules())]
    scenarios, names = [], set()
    for config in configs:
        name = Path(config).stem
        if name in names:
            raise ReportError(f"two configurations named {name!r}: scenarios need distinct names")
        names.add(name)
        scenarios.append(Scenario(name, load_rules(config)))
    return scenarios


def _tally(args: tuple[Path, list[Rules], Topics, int, int]) -> list[Tally]:
    return tally_scenarios(*args)


def run_report(
    log: Path, scenarios: list[Scenario], out: Path, jobs: int, *, progress: bool = False
) -> dict[str, Any]:
    """Replay `log` under every scenario at once, its accounts spread over
    `jobs` processes (each line decoded once per process); write the report
    into `out`."""
    from streams.cli.report_charts import draw_charts
    from streams.cli.report_page import render_page

    topics = Settings.from_env().topics
    every = [s.rules for s in scenarios]
    tasks = [(log, every, topics, shard, jobs) for shard in range(jobs)]
    tallies = {s.name: Tally() for s in scenarios}

    def add(shard_tallies: list[Tally]) -> None:
        for scenario, tally in zip(scenarios, shard_tallies, strict=True):
            tallies[scenario.name].add(tally)
        if bar:
            bar[0].advance(bar[1])

    bar = _bar(len(tasks)) if progress else None
    if jobs == 1:
        add(_tally(tasks[0]))
    else:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            for future in as_completed([pool.submit(_tally, task) for task in tasks]):
                add(future.result())
    if bar:
        bar[0].stop()
    result = summary((s.name, tallies[s.name]) for s in scenarios)
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2) + b"\n")
    draw_charts(out, [(s.name, tallies[s.name], s.rules) for s in scenarios])
    top = {name: tally.crossings_per_account.most_common(10) for name, tally in tallies.items()}
    (out / "index.html").write_text(render_page(result, top), encoding="utf-8")
    return result


def _bar(total: int) -> tuple[Any, Any]:
    from rich.progress import Progress

    bar = Progress(transient=True)
    bar.start()
    return bar, bar.add_task("replaying scenarios", total=total)


def _cmd_report(args: argparse.Namespace) -> int:
    log = Path(args.log)
    if not log.is_file():
        raise ReportError(f"log file not found: {log}")
    jobs = args.jobs or os.cpu_count() or 1
    if jobs < 1:
        raise ReportError(f"--jobs must be 1 or more, got {jobs}")
    scenarios = _scenarios(args.config)
    out = Path(args.out)
    try:
        result = run_report(log, scenarios, out, jobs, progress=sys.stderr.isatty())
    except OSError as exc:
        raise ReportError(f"cannot write the report into {out}: {exc.strerror}") from None
    events = result["log"]["events"]
    print(
        f"report of {events:,} events, {len(scenarios)} scenario(s): {out / 'index.html'}",
        file=sys.stderr,
    )
    return 0


def register(commands: Any) -> None:
    """Add `report` to the `thresholds` parser."""
    report = commands.add_parser(
        "report", help="what a rule change would do: a log replayed per configuration, charted"
    )
    report.add_argument("log", metavar="LOG", help="JSON Lines log (as `thresholds replay` reads)")
    report.add_argument(
        "--config",
        metavar="FILE",
        action="append",
        help="a scenario's TOML configuration, named after its file's stem (repeatable)",
    )
    report.add_argument("--out", metavar="DIR", default="report", help="output folder (report/)")
    report.add_argument(
        "--jobs", type=int, default=None, help="processes to spread accounts over (the cores)"
    )
    report.set_defaults(run=_cmd_report)
