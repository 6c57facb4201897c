"""Compare what is on the output topics with a replay of the same log.

Records are matched by their deterministic `event_id`: an id missing from the
topic was lost, an id the replay never produces was invented, and two records
with one id that differ are a conflict. Identical duplicates are the price of
at-least-once delivery and are only counted.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from streams.config import Settings
from streams.core.rules import Rules
from streams.process.replay import Replayer, iter_lines, replay_lines

__all__ = ["Report", "compare", "expected_from_log", "print_report", "verify_topics"]

Value = Mapping[str, Any]


@dataclass
class Report:
    """The differences between expected and actual records, by event id."""

    expected: int = 0
    actual: int = 0
    missing: list[Value] = field(default_factory=list)
    extra: list[Value] = field(default_factory=list)
    conflicting: list[tuple[Value, Value]] = field(default_factory=list)
    duplicates: int = 0
    dead_letters_expected: int = 0
    dead_letters_actual: int = 0

    @property
    def ok(self) -> bool:
        """Nothing missing, nothing extra, nothing conflicting, dead letters agree."""
        return (
            not self.missing
            and not self.extra
            and not self.conflicting
            and self.dead_letters_expected == self.dead_letters_actual
        )


def compare(expected: Iterable[Value], actual: Iterable[Value]) -> Report:
    """Match records by `event_id` (dead letters, which have none, by count)."""
    report = Report()
    wanted: dict[str, Value] = {}
    for value in expected:
        if value.get("type") == "DeadLetter":
            report.dead_letters_expected += 1
            continue
        report.expected += 1
        wanted[str(value["event_id"])] = value
    got: dict[str, Value] = {}
    for value in actual:
        if value.get("type") == "DeadLetter":
            report.dead_letters_actual += 1
            continue
        report.actual += 1
        event_id = str(value["event_id"])
        first = got.setdefault(event_id, value)
        if first is not value:
            if first == value:
                report.duplicates += 1
            else:
                report.conflicting.append((first, value))
    for event_id, value in wanted.items():
        other = got.get(event_id)
        if other is None:
            report.missing.append(value)
        elif other != value:
            report.conflicting.append((value, other))
    report.extra = [v for k, v in got.items() if k not in wanted]
    return report


def expected_from_log(log: Path, rules: Rules, settings: Settings) -> dict[str, list[Value]]:
    """The replay of `log`: values per topic, in emission order."""
    import orjson

    sink = io.BytesIO()
    with log.open("rb") as f:
        replay_lines(iter_lines(f), sink.write, Replayer(rules, settings.topics))
    out: dict[str, list[Value]] = {}
    for line in sink.getvalue().splitlines():
        record = orjson.loads(line)
        out.setdefault(record["topic"], []).append(record["value"])
    return out


def verify_topics(settings: Settings, rules: Rules, log: Path, *, policy: bool = False) -> Report:
    """Compare the crossing topic (and, with `policy`, the downstream ones) with a replay."""
    from streams.kafka import client as kafka_io

    t = settings.topics
    topics = [t.threshold_crossings, t.follower_changes_dlq, t.verification_results_dlq]
    if policy:
        topics += [t.verification_requests, t.account_restrictions]
    expected = expected_from_log(log, rules, settings)
    actual = kafka_io.read_all(settings, topics)
    return compare(
        [v for topic in topics for v in expected.get(topic, [])],
        [r.value for r in actual],
    )


def print_report(report: Report, console: Any = None) -> None:
    """A readable summary of a report, with the first differing records."""
    from rich.console import Console

    console = console or Console()
    verdict = "[green]OK[/green]" if report.ok else "[red]DIFFERENT[/red]"
    console.print(
        f"{verdict}: expected {report.expected} records, found {report.actual} "
        f"({report.duplicates} identical duplicates); dead letters expected "
        f"{report.dead_letters_expected}, found {report.dead_letters_actual}"
    )
    for title, rows in (("missing", report.missing), ("extra", report.extra)):
        if rows:
            console.print(f"[bold]{title}[/bold] ({len(rows)}):")
            for value in rows[:20]:
                console.print(f"  {dict(value)}", markup=False)
    if report.conflicting:
        console.print(f"[bold]conflicting[/bold] ({len(report.conflicting)}):")
        for want, got in report.conflicting[:20]:
            console.print(f"  expected {dict(want)}\n  found    {dict(got)}", markup=False)
