"""The `thresholds` command."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import IO

from streams.cli.errors import CommandError
from streams.config import ConfigError, Settings, load_rules
from streams.process.replay import Counters, Replayer, iter_lines, replay_lines

__all__ = ["main"]

_PROGRESS_MIN_BYTES = 1 << 20


def _config_path(args: argparse.Namespace) -> str | None:
    path: str | None = args.config or os.environ.get("THRESHOLDS_CONFIG") or None
    return path


def _progress_lines(stream: IO[bytes], total: int) -> Iterator[bytes]:
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        transient=True,
        console=None,
    ) as progress:
        task = progress.add_task("replaying", total=total)
        done = 0
        for i, line in enumerate(iter_lines(stream)):
            done += len(line) + 1
            if i % 20_000 == 0:
                progress.update(task, completed=done)
            yield line
        progress.update(task, completed=total)


def _cmd_replay(args: argparse.Namespace) -> int:
    rules = load_rules(_config_path(args))
    topics = Settings.from_env().topics
    path = Path(args.input)
    try:
        source = path.open("rb")
    except FileNotFoundError:
        raise CommandError(f"input file not found: {path}") from None
    except OSError as exc:
        raise CommandError(f"cannot read {path}: {exc.strerror}") from None
    with ExitStack() as stack:
        stack.enter_context(source)
        if args.output:
            try:
                sink: IO[bytes] = stack.enter_context(Path(args.output).open("wb"))
            except OSError as exc:
                raise CommandError(f"cannot write {args.output}: {exc.strerror}") from None
        else:
            sink = sys.stdout.buffer
        # A bar only where a person watches and it cannot mix with the records.
        show = (
            args.output is not None
            and sys.stderr.isatty()
            and path.stat().st_size >= _PROGRESS_MIN_BYTES
        )
        lines = _progress_lines(source, path.stat().st_size) if show else iter_lines(source)
        counters = replay_lines(lines, sink.write, Replayer(rules, topics))
        sink.flush()
    if sys.stderr.isatty():
        _summary(counters)
    return 0


def _summary(counters: Counters) -> None:
    print(
        f"{counters.events:,} events, {counters.results:,} verification results: "
        f"{counters.crossings:,} crossings, {counters.policy_records:,} requests and "
        f"restrictions, {counters.dead_letters:,} dead letters, "
        f"{counters.stale_events_total:,} stale",
        file=sys.stderr,
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="thresholds",
        description="Follower-threshold crossings (500K / 1M), live on Kafka or replayed offline.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    replay = commands.add_parser("replay", help="replay a JSON Lines log offline, no broker")
    replay.add_argument("input", metavar="INPUT", help="JSON Lines of follower-changes values")
    replay.add_argument("--config", metavar="FILE", help="TOML configuration")
    replay.add_argument("--output", metavar="FILE", help="write here instead of stdout")
    replay.set_defaults(run=_cmd_replay)

    from streams.cli.report import register as register_report

    register_report(commands)

    from streams.cli.lookup import register as register_lookup

    register_lookup(commands)

    from streams.cli.acls import register as register_acls

    register_acls(commands)

    _add_live_commands(commands)
    return parser


def _add_live_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    # imported here so that `thresholds replay` never loads Faust or Kafka clients
    from streams.cli.live import register

    register(commands)


def _from_a_kafka_client(exc: BaseException) -> bool:
    """Whether `exc` is a Kafka client's error (kafka-python, aiokafka, librdkafka)."""
    module = type(exc).__module__.split(".")[0]
    return module in {"kafka", "aiokafka", "confluent_kafka", "cimpl"}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = _parser().parse_args(argv)
    run: Callable[[argparse.Namespace], int] = args.run
    try:
        return run(args)
    except (ConfigError, CommandError) as exc:
        print(f"thresholds: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # the reader went away (e.g. `| head`); nothing left to say, and
        # nothing for the interpreter to flush into the closed pipe at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:
        if not _from_a_kafka_client(exc):
            raise
        # a broker that stayed unreachable past the client's own retries
        first = str(exc).splitlines()[0][:300] if str(exc) else ""
        print(f"thresholds: error: Kafka: {type(exc).__name__}: {first}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
