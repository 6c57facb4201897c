"""The worker's log format (SPEC.md, "Operations"): one JSON object per line
when stderr is not a terminal, Faust's readable lines on a terminal."""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

__all__ = ["RECORD_FIELDS", "JsonFormatter", "logging_config"]

RECORD_FIELDS = ("topic", "partition", "offset", "reason", "record")
"""Extra fields a log call may carry about a record (`extra={...}`)."""


class JsonFormatter(logging.Formatter):
    """`{"time", "level", "logger", "message", ...}`, one line per record."""

    def format(self, record: logging.LogRecord) -> str:
        """One JSON object, never more than one line."""
        seconds = int(record.created)
        millis = int((record.created - seconds) * 1000)
        out: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in RECORD_FIELDS:
            value = record.__dict__.get(name)
            if value is not None:
                out[name] = value
        if record.exc_info:
            out["error"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


def logging_config(log_format: str = "auto", level: str = "INFO") -> dict[str, Any] | None:
    """A `logging.config.dictConfig` for the worker: JSON on stderr when it is
    not a terminal (or `log_format` is "json"), None (Faust's own readable
    lines) on a terminal or with "text"."""
    if log_format == "text" or (log_format == "auto" and sys.stderr.isatty()):
        return None
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {
            "json": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
                "level": level,
            }
        },
        "root": {"level": level, "handlers": ["json"]},
    }
