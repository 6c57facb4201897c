"""Run the Faust worker in this process: the app, the recovery watchdog, GC tuning."""

from __future__ import annotations

import gc
from typing import Any

import faust

from streams.config import Settings
from streams.core.rules import Rules
from streams.engine.app import create_app
from streams.engine.logs import logging_config, quiet_client_reconnects
from streams.engine.watchdog import start_recovery_watchdog

__all__ = ["GC_THRESHOLDS", "run_worker"]

GC_THRESHOLDS = (50_000, 20, 100)
"""The worker's collector thresholds (Python's default: 700, 10, 10).

Faust makes several tracked objects per record (message, event, futures) that
live for about one batch. At the default threshold a batch is promoted to the
older generations, and full collections then walk the whole heap, finding
nothing: 35-190 ms pauses every few hundred ms under load (gc.callbacks in
the latency benchmark), straight into the tail latency and a fifth of the
throughput. Reference counting frees those objects; the collector is only
for cycles, which these thresholds still collect.
"""


def run_worker(settings: Settings, rules: Rules, *, fast_start: bool, quiet: bool) -> None:
    """Build the app and run its worker until it stops."""
    gc.set_threshold(*GC_THRESHOLDS)
    app = create_app(settings, rules, fast_start=fast_start)
    quiet_client_reconnects()

    def recovery() -> tuple[bool, int]:
        r: Any = app.tables.recovery  # type: ignore[attr-defined]  # Faust's TableManager
        return bool(r.in_recovery), int(r.active_remaining_total())

    start_recovery_watchdog(recovery, settings.recovery_timeout)
    # INFO, not WARNING: at WARNING Faust draws a spinner that halves throughput
    worker = faust.Worker(
        app, loglevel="INFO", quiet=quiet, logging_config=logging_config(settings.log_format)
    )
    worker.execute_from_commandline()
