"""`thresholds report LOG [--config FILE]... [--out DIR] [--jobs N]`."""

from __future__ import annotations

import argparse
import gc
import multiprocessing
import os
import sys
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from itertools import islice
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import orjson

from streams.config import ConfigError, Settings, Topics, load_rules
from streams.core.rules import Rules
from streams.process.chunks import Chunk, decode_chunk, decode_part, encode_part, split
from streams.process.impact import Scenario, ShardFeed, Tally, add_up, summary, tally_scenarios

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


def run_report(
    log: Path, scenarios: list[Scenario], out: Path, jobs: int, *, progress: bool = False
) -> dict[str, Any]:
    """Replay `log` under every scenario at once, its accounts spread over
    `jobs` shards (each line decoded once); write the report into `out`."""
    from streams.cli.report_charts import draw_charts
    from streams.cli.report_page import render_page

    topics = Settings.from_env().topics
    every = [s.rules for s in scenarios]
    if jobs == 1:
        totals = tally_scenarios(log, every, topics)
    else:
        totals = _in_processes(log, every, topics, jobs, progress)
    tallies = {s.name: tally for s, tally in zip(scenarios, totals, strict=True)}
    result = summary((s.name, tallies[s.name]) for s in scenarios)
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2) + b"\n")
    draw_charts(out, [(s.name, tallies[s.name], s.rules) for s in scenarios])
    top = {name: tally.crossings_per_account.most_common(10) for name, tally in tallies.items()}
    (out / "index.html").write_text(render_page(result, top), encoding="utf-8")
    return result


def _in_processes(
    log: Path, scenarios: list[Rules], topics: Topics, jobs: int, progress: bool
) -> list[Tally]:
    """`jobs` processes decode chunks (a few ahead, in order); `jobs` more each
    replay one shard's accounts, fed each chunk's part of them through a pipe."""
    ranges = split(log)
    ends, shards = [], []
    for _ in range(jobs):
        mine, theirs = multiprocessing.Pipe()
        shard = multiprocessing.Process(target=_shard, args=(theirs, scenarios, topics))
        shard.start()
        theirs.close()  # a shard that dies then breaks the pipe instead of hanging
        ends.append(mine)
        shards.append(shard)
    chunks: list[Chunk] = []
    done = False
    try:
        with ProcessPoolExecutor(max_workers=jobs) as decoders:
            todo = iter(ranges)
            window = deque(
                decoders.submit(_decode, log, start, end, jobs, topics)
                for start, end in islice(todo, 2 * jobs)
            )
            bar = _bar(len(ranges)) if progress else None
            while window:
                parts, chunk = window.popleft().result()
                following = next(todo, None)
                if following is not None:
                    window.append(decoders.submit(_decode, log, *following, jobs, topics))
                for end, part in zip(ends, parts, strict=True):
                    end.send_bytes(part)
                chunks.append(chunk)
                if bar:
                    bar[0].advance(bar[1])
            if bar:
                bar[0].stop()
        for end in ends:
            end.send_bytes(b"")
        tallies = [end.recv() for end in ends]
        done = True
    except (BrokenPipeError, EOFError, BrokenProcessPool):
        raise ReportError("a process of the report failed (see above)") from None
    finally:
        for shard in shards:
            if not done:
                shard.terminate()
            shard.join()
    return add_up(tallies, chunks, len(scenarios))


def _decode(
    log: Path, start: int, end: int, shards: int, topics: Topics
) -> tuple[list[bytes], Chunk]:
    gc.disable()  # see _shard
    chunk = decode_chunk(log, start, end, shards, topics)
    return [encode_part(part) for part in chunk.parts], chunk._replace(parts=[])


def _shard(chunks: Connection, scenarios: list[Rules], topics: Topics) -> None:
    # A process that ends with the report and makes no reference cycles: the
    # collector would only scan each chunk's objects over and over.
    gc.disable()
    feed = ShardFeed(scenarios, topics)
    while data := chunks.recv_bytes():
        feed.feed(decode_part(data))
    chunks.send(feed.tallies())


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
        "--jobs",
        type=int,
        default=None,
        help="N processes decode the log, N more replay its accounts, spread by key (the cores)",
    )
    report.set_defaults(run=_cmd_report)
