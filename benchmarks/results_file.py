"""RESULTS.md, section by section: a run rewrites its own sections and
leaves the others (measured by other commands, or written by hand) alone."""

from __future__ import annotations

from pathlib import Path

__all__ = ["replace_section"]

TITLE = "# Benchmark results\n"


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
