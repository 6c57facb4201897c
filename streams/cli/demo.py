"""`thresholds demo`: broker, worker and a sample log replayed live, in real time.

The sample log is written around an anchor time; the demo shifts it so the
anchor falls a few seconds after the worker is ready, sends what lies in the
past at once and the rest when its time comes. Deadlines 30 days after a
crossing therefore fall due while you watch.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console

from streams.cli.sandbox import Harness
from streams.config import load_rules
from streams.config.topology import topology
from streams.core.timestamps import format_utc, parse_rfc3339
from streams.kafka import client as kafka_io
from streams.kafka.client import ConsumedRecord
from streams.kafka.discovery import find_broker
from streams.kafka.verify import compare, expected_from_log

__all__ = ["run_demo", "shift_log"]

SAMPLES = Path(__file__).parent.parent / "samples"
ANCHOR = parse_rfc3339("2024-01-01T00:00:00Z")
_TIME_FIELDS = ("occurred_at", "decided_at")


def shift_log(lines: list[bytes], delta_us: int) -> list[tuple[int, bytes]]:
    """Each line with its times moved by `delta_us`, and the time it is due.

    A line without a readable time is due at once and left as it is.
    """
    out = []
    for raw in lines:
        due = 0
        try:
            obj = orjson.loads(raw)
        except orjson.JSONDecodeError:
            out.append((due, raw))
            continue
        if type(obj) is dict:
            for name in _TIME_FIELDS:
                value = obj.get(name)
                if type(value) is str:
                    with contextlib.suppress(ValueError):
                        shifted = parse_rfc3339(value) + delta_us
                        obj[name] = format_utc(shifted)
                        due = shifted
            raw = orjson.dumps(obj)
        out.append((due, raw))
    return out


def _describe(record: ConsumedRecord) -> str:
    v = record.value
    kind = v.get("type")
    who = f"[bold]{record.key}[/bold]"
    if kind == "ThresholdCrossed":
        arrow = "[green]▲ up  [/green]" if v["direction"] == "up" else "[yellow]▼ down[/yellow]"
        before = v["previous_followers"]
        was = "new" if before is None else f"{before:,}"
        return f"{arrow} {v['threshold']:>9,}  {who}  {was} → {v['followers']:,} followers"
    if kind == "VerificationRequested":
        due = v["due_at"][:19].replace("T", " ")
        return f"[cyan]✉ verification requested[/cyan]  {who}  due {due} UTC"
    if kind == "VerificationCancelled":
        return f"[cyan]✕ request cancelled[/cyan]  {who}  ({v['reason']})"
    if kind == "TrafficRestricted":
        return f"[red]⛔ traffic and income restricted[/red]  {who}  (verification overdue)"
    if kind == "RestrictionLifted":
        return f"[green]✓ restriction lifted[/green]  {who}  ({v['reason']})"
    if kind == "DeadLetter":
        return f"[magenta]☠ dead letter[/magenta]  {v['reason']}: {v['detail']}"
    return f"{kind} {who}"


def _pace(harness: Harness, timed: list[tuple[int, bytes]], done: threading.Event) -> None:
    from kafka import KafkaProducer

    settings = harness.settings
    t = settings.topics
    producer = KafkaProducer(**kafka_io.client_config(settings), linger_ms=1)
    try:
        for due, raw in timed:
            wait = due / 1e6 - time.time()
            if wait > 0:
                time.sleep(wait)
            key, kind = kafka_io.key_and_type(raw)
            topic = t.verification_results if kind == "VerificationResult" else t.follower_changes
            producer.send(topic, key=key, value=raw)
            producer.flush()
    finally:
        producer.close()
        done.set()


def run_demo(log: Path | None = None, config: str | None = None) -> int:
    """Run the demo; return the exit status."""
    console = Console()
    log = log or SAMPLES / "demo.jsonl"
    config = config or str(SAMPLES / "rollout.toml")
    rules = load_rules(config)
    lines = [line for line in log.read_bytes().splitlines() if line.strip()]

    started = time.monotonic()
    broker = find_broker(apache_kafka=False)  # Tansu: the zero-setup default
    console.print(f"[bold]broker[/bold] {broker.bootstrap_servers}")
    harness = Harness(broker.bootstrap_servers, config=config, security=broker.security)
    try:
        harness.create_topics()
        worker = harness.start_worker(wait=False)
        with console.status("starting the worker ..."):
            from streams.cli.worker_process import wait_ready

            ready = wait_ready(worker.log, worker.process)
        console.print(f"[bold]worker[/bold] ready in {ready:.1f}s (log: {worker.log})")

        delta = int((time.time() + 3) * 1e6) - ANCHOR
        timed = shift_log(lines, delta)
        shifted = harness.workdir / "demo-shifted.jsonl"
        shifted.write_bytes(b"".join(raw + b"\n" for _, raw in timed))
        expected = expected_from_log(shifted, rules, harness.settings)
        want = sum(len(v) for v in expected.values())
        console.print(
            f"replaying {log.name}: {len(timed)} records, the last one "
            f"{max(d for d, _ in timed) / 1e6 - time.time():.0f}s from now\n"
        )

        done = threading.Event()
        threading.Thread(target=_pace, args=(harness, timed, done), daemon=True).start()
        seen: list[ConsumedRecord] = []
        first_crossing: float | None = None
        deadline: float | None = None
        for record in _follow(harness, topology(harness.settings).outputs()):
            if record is not None:
                seen.append(record)
                if first_crossing is None and record.value.get("type") == "ThresholdCrossed":
                    first_crossing = time.monotonic() - started
                console.print(f"{time.strftime('%H:%M:%S')}  {_describe(record)}")
            if done.is_set() and deadline is None:
                deadline = time.monotonic() + 15
            if len(seen) >= want or (deadline is not None and time.monotonic() > deadline):
                break
        _summary(console, expected, seen, first_crossing)
        return 0
    except KeyboardInterrupt:
        console.print("\nstopped")
        return 130
    finally:
        for w in harness.workers:
            with contextlib.suppress(Exception):
                w.terminate(timeout=15)
        broker.stop()


def _follow(harness: Harness, topics: list[str]) -> Iterator[ConsumedRecord | None]:
    """Records as they arrive, with a None now and then so the caller can stop."""
    consumer = kafka_io.open_consumer(harness.settings, topics)
    try:
        while True:
            batches = consumer.poll(timeout_ms=250)
            if not batches:
                yield None
            for batch in batches.values():
                for m in batch:
                    yield kafka_io.decoded(m)
    finally:
        consumer.close()


def _summary(
    console: Console,
    expected: dict[str, list[Any]],
    seen: list[ConsumedRecord],
    first_crossing: float | None,
) -> None:
    report = compare([v for values in expected.values() for v in values], [r.value for r in seen])
    console.print()
    if first_crossing is not None:
        console.print(f"first crossing {first_crossing:.1f}s after the demo started")
    if report.ok:
        console.print(
            f"[green]✓[/green] live output equals `thresholds replay` of the same log: "
            f"{report.expected} records, {report.dead_letters_expected} dead letters"
        )
    else:
        console.print(
            f"[yellow]![/yellow] live output differs from the replay: "
            f"{len(report.missing)} missing, {len(report.extra)} extra, "
            f"{len(report.conflicting)} conflicting (live deadlines follow the wall clock)"
        )
