"""RESULTS.md, section by section: a run rewrites its own sections and
leaves the others (measured by other commands, or written by hand) alone."""

from __future__ import annotations

import os
import platform
from datetime import UTC, datetime
from pathlib import Path

__all__ = ["RESULTS", "machine", "publish", "record_section", "replace_section"]

TITLE = "# Benchmark results\n"
RESULTS = Path(__file__).parent / "RESULTS.md"


def machine() -> str:
    """One line about where the figures were measured."""
    import importlib.metadata as md

    versions = ", ".join(
        f"{p} {md.version(p)}" for p in ("faust-streaming", "aiokafka", "kafka-python", "msgspec")
    )
    return (
        f"{platform.node()} · {platform.machine()} · {os.cpu_count()} cores · "
        f"Python {platform.python_version()} · {versions} · "
        f"{datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}"
    )


def record_section(heading: str, command: str, body: str, path: Path = RESULTS) -> None:
    """`replace_section` with the machine and the command that measured `body` above it."""
    replace_section(path, heading, f"{machine()}; `{command}`\n\n{body}")


def publish(heading: str, command: str, body: str, write: bool) -> None:
    """Print `body`; with `write`, also into RESULTS.md (`record_section`)."""
    print(body)
    if write:
        record_section(heading, command, body)


def replace_section(path: Path, heading: str, body: str) -> None:
    """Make `## heading` hold `body` (the section is appended when new)."""
    text = path.read_text(encoding="utf-8") if path.exists() else TITLE
    section = f"## {heading}\n\n{body.strip()}\n"
    start = text.find(f"\n## {heading}\n")
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        following = text.find("\n## ", start + 1)
        end = len(text) if following < 0 else following + 1
        text = text[: start + 1] + section + ("\n" if following >= 0 else "") + text[end:]
    path.write_text(text, encoding="utf-8")
