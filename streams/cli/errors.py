"""The error every command turns into one line for people."""

from __future__ import annotations

__all__ = ["CommandError"]


class CommandError(Exception):
    """A one-line error for people; the command exits 2."""
