"""`python3 run.py bench` (= `python -m benchmarks`): every figure in one run.

python -m benchmarks            the standard sizes (minutes), writes benchmarks/RESULTS.md
python -m benchmarks --tiny     a few thousand events: proves the code runs (tests use it)
python -m benchmarks --quix PY  also Quix Streams side by side, run by the interpreter PY
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace
from pathlib import Path

from rich.console import Console
from rich.table import Table

from benchmarks.replay_bench import measure
from benchmarks.results_file import record_section
from benchmarks.suite import TINY, Results, Sizes, run_suite
from streams.testing.harness import find_broker

HERE = Path(__file__).parent


def _table(results: Results, broker: str) -> Table:
    table = Table(title=f"follower-thresholds benchmarks on {broker}")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_column("note")
    for row in results.rows:
        table.add_row(*row)
    return table


def main(argv: list[str] | None = None) -> int:
    """Run, print and (unless --tiny) write RESULTS.md."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tiny", action="store_true", help="a few thousand events")
    parser.add_argument("--rocksdb-accounts", type=int, default=None)
    parser.add_argument("--output", type=Path, default=None, help="where to write the results")
    parser.add_argument("--quix", default=None, help="a Python with quixstreams: adds its row")
    parser.add_argument(
        "--no-kafka-streams", action="store_true", help="skip the Kafka Streams row (Maven build)"
    )
    args = parser.parse_args(argv)
    # the figures are read from the workers' logs, in Faust's text format
    os.environ.setdefault("THRESHOLDS_LOG_FORMAT", "text")
    sizes = TINY if args.tiny else Sizes()
    if args.rocksdb_accounts:
        sizes = replace(sizes, rocksdb_accounts=args.rocksdb_accounts)
    console = Console()

    console.print("[bold]offline replay[/bold] vs bare json.loads on the same lines")
    replay = measure(20_000 if args.tiny else 1_000_000, runs=1 if args.tiny else 3)
    broker = find_broker()
    broker_name = {"apache-kafka": "Apache Kafka 4.1.1", "tansu": "the embedded broker (Tansu)"}
    where = broker_name.get(broker.kind, f"the broker at {broker.bootstrap_servers}")
    console.print(f"[bold]broker[/bold]: {where}")
    on_kafka = broker.kind == "apache-kafka"
    try:
        results = run_suite(
            broker.bootstrap_servers,
            sizes,
            say=console.print,
            quix_python=args.quix,
            kafka_streams=on_kafka and not args.no_kafka_streams,
            produce_events=sizes.produce_events,
        )
    finally:
        broker.stop()
    sections = [(where, results)]
    if on_kafka:
        # the embedded broker's own section: the rows it has always had, in the same run
        from streams.kafka.embedded import start_embedded_broker

        console.print("[bold]broker[/bold]: the embedded broker (Tansu), core rows")
        tansu = start_embedded_broker()
        try:
            sections.append(
                (
                    "the embedded broker (Tansu)",
                    run_suite(
                        tansu.bootstrap_servers,
                        sizes,
                        say=console.print,
                        only_core=True,
                        target_ms=50,
                    ),
                )
            )
        finally:
            tansu.stop()
    results.add("json_loads", replay["json_loads_lines_per_s"], "lines/s", "bare json.loads loop")
    results.add(
        "replay",
        replay["replay_lines_per_s"],
        "lines/s",
        f"thresholds replay, ratio {replay['ratio']:.2f} (target >= 1.0)",
    )
    text = Console(record=True, width=130, file=open(os.devnull, "w"))  # noqa: SIM115
    output = args.output or (None if args.tiny else HERE / "RESULTS.md")
    for name, section in sections:
        console.print(_table(section, name))
        text.print(_table(section, name))
        if output is not None:
            # only this run's sections: the others come from other commands
            record_section(
                f"On {name}",
                "python3 run.py bench",
                f"One run for both brokers' sections.\n\n```\n{text.export_text()}```",
                output,
            )
    if output is not None:
        console.print(f"written to {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
