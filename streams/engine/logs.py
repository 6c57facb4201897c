"""The worker's log format (SPEC.md, "Operations"): one JSON object per line
when stderr is not a terminal, Faust's readable lines on a terminal."""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

from streams.engine.access import refusal
from streams.process.processors import LiveCounters

# the agents' logger: a refused record is the agents' report
_refused_log = logging.getLogger("streams.engine.agents")

__all__ = [
    "EXCERPT_BYTES",
    "RECONNECT_INTERVAL",
    "RECORD_FIELDS",
    "ClientNoise",
    "JsonFormatter",
    "log_refused",
    "logging_config",
    "quiet_client_reconnects",
]

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


RECONNECT_INTERVAL = 60.0
"""The same client complaint about the same broker is logged once per this many seconds."""


class ClientNoise(logging.Filter):
    """aiokafka's complaints (a broker refusing connections, a coordinator
    moving, a heartbeat failing) at WARNING, each once per broker per
    RECONNECT_INTERVAL. aiokafka logs every reconnect attempt at ERROR:
    hundreds of lines a minute while one broker of three restarts, which
    the worker rides through. What needs a person is the worker's own ERROR
    line (it stops when no broker has answered for THRESHOLDS_BROKER_TIMEOUT)."""

    def __init__(self, clock: Any = time.monotonic) -> None:
        super().__init__()
        self._clock = clock
        self._last: dict[tuple[str, object, str], float] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep a complaint at WARNING the first time in an interval; drop repeats."""
        if record.levelno < logging.WARNING:
            return True
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        args = record.args if isinstance(record.args, tuple) else ()
        key = (record.name, record.msg, str(args[0]) if args else "")
        now = self._clock()
        last = self._last.get(key)
        if last is not None and now - last < RECONNECT_INTERVAL:
            return False
        self._last[key] = now
        return True


class UnseenRefusals(logging.Filter):
    """Drops asyncio's "Future exception was never retrieved" for a refused
    permission: a send the broker refused fails every record queued with it,
    inside the client too, and the worker already stops with the one ERROR
    line that names the permission (`watchdog.fail_fast`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """False for a never-retrieved authorization error."""
        exc = record.exc_info[1] if record.exc_info else None
        return exc is None or refusal(exc) is None


def quiet_client_reconnects() -> ClientNoise:
    """Put a `ClientNoise` on every aiokafka logger there is (call once the
    app is built: aiokafka makes its loggers as its modules are imported)."""
    logging.getLogger("asyncio").addFilter(UnseenRefusals())
    noise = ClientNoise()
    for name in list(logging.root.manager.loggerDict):
        if name == "aiokafka" or name.startswith("aiokafka."):
            logging.getLogger(name).addFilter(noise)
    return noise


EXCERPT_BYTES = 200
"""The most of a refused record a log line shows (SPEC.md: never the whole record)."""


def log_refused(counters: LiveCounters) -> None:
    """Log the records refused since the last call, one line each (reason, excerpt)."""
    for record, rejected in counters.refused:
        value = record.value or b""
        _refused_log.warning(
            "record refused (%s): %s",
            rejected.reason,
            rejected.detail,
            extra={
                "topic": record.topic,
                "partition": record.partition,
                "offset": record.offset,
                "reason": rejected.reason,
                "record": value[:EXCERPT_BYTES].decode("utf-8", "backslashreplace"),
            },
        )
    if counters.refused_more:
        _refused_log.warning("%d more records refused (not logged)", counters.refused_more)
    counters.refused.clear()
    counters.refused_more = 0
