"""The TOML rules file -> validated `Rules`, refused with one line when invalid."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from itertools import pairwise
from pathlib import Path
from typing import Any

from streams.core.identity import is_platform
from streams.core.rules import (
    DEFAULT_THRESHOLDS,
    HYSTERESIS_SCALE,
    Phase,
    PlatformRules,
    Rules,
)
from streams.core.timestamps import parse_rfc3339

__all__ = ["ConfigError", "load_rules", "parse_rules"]

_TOP_KEYS = {"thresholds", "hysteresis", "phases", "platforms"}
_PLATFORM_KEYS = {"thresholds", "hysteresis", "phases"}
_PHASE_KEYS = {"threshold", "effective_from", "grace_period_days"}


class ConfigError(Exception):
    """A configuration that cannot be used; the message is one line for people."""


def _is_int(value: object) -> bool:
    return type(value) is int


def _thresholds(value: Any, where: str) -> tuple[int, ...]:
    if type(value) is not list or not value:
        raise ConfigError(f"{where}: must be a non-empty list of integers")
    for item in value:
        if not _is_int(item) or item <= 0:
            raise ConfigError(f"{where}: every threshold must be a positive integer, got {item!r}")
    if any(a >= b for a, b in pairwise(value)):
        raise ConfigError(f"{where}: thresholds must be strictly ascending, got {value!r}")
    return tuple(value)


def _hysteresis(value: Any, where: str) -> int:
    problem = (
        f"{where}: must be a decimal at least 0 and below 1 "
        f"with at most 4 decimal places, got {value!r}"
    )
    if _is_int(value):
        value = Decimal(value)
    if not isinstance(value, Decimal):
        raise ConfigError(problem)
    try:
        scaled = value * HYSTERESIS_SCALE
        exact = scaled == scaled.to_integral_value()
    except InvalidOperation:
        raise ConfigError(problem) from None
    if not exact or not Decimal(0) <= value < Decimal(1):
        raise ConfigError(problem)
    return int(scaled)


def _effective_from(value: Any, where: str) -> int:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ConfigError(
                f"{where}: must be a date-time with an offset, got {value.isoformat()}"
            )
        value = value.isoformat()
    if type(value) is not str:
        raise ConfigError(f"{where}: must be an RFC 3339 date-time with an offset")
    try:
        return parse_rfc3339(value.replace(" ", "T", 1))
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}, got {value!r}") from None


def _phases(value: Any, where: str) -> tuple[Phase, ...]:
    if type(value) is not list or not value:
        raise ConfigError(f"{where}: must be a non-empty array of tables ([[...phases]])")
    phases = []
    for i, item in enumerate(value):
        here = f"{where}[{i}]"
        if type(item) is not dict:
            raise ConfigError(f"{here}: must be a table")
        _no_unknown_keys(item, _PHASE_KEYS, here)
        for key in ("threshold", "effective_from"):
            if key not in item:
                raise ConfigError(f"{here}.{key}: required")
        threshold = item["threshold"]
        if not _is_int(threshold) or threshold <= 0:
            raise ConfigError(f"{here}.threshold: must be a positive integer")
        grace = item.get("grace_period_days", 30)
        if not _is_int(grace) or grace < 0:
            raise ConfigError(
                f"{here}.grace_period_days: must be a whole number of days, 0 or more"
            )
        start = _effective_from(item["effective_from"], f"{here}.effective_from")
        phases.append(Phase(threshold, start, grace))
    seen = [p.threshold for p in phases]
    if len(set(seen)) != len(seen):
        raise ConfigError(f"{where}: each threshold may have only one phase")
    return tuple(phases)


def _no_unknown_keys(table: Mapping[str, Any], allowed: set[str], where: str) -> None:
    for key in table:
        if key not in allowed:
            name = f"{where}.{key}" if where else key
            raise ConfigError(f"{name}: unknown key (allowed: {', '.join(sorted(allowed))})")


def _platform_rules(
    thresholds: tuple[int, ...], hysteresis: int, phases: tuple[Phase, ...], where: str
) -> PlatformRules:
    for phase in phases:
        if phase.threshold not in thresholds:
            raise ConfigError(
                f"{where}: phase threshold {phase.threshold} "
                f"is not one of the thresholds {list(thresholds)}"
            )
    return PlatformRules(thresholds, hysteresis, phases)


def parse_rules(doc: Mapping[str, Any]) -> Rules:
    """Validate a parsed TOML document (floats as Decimal) into Rules."""
    _no_unknown_keys(doc, _TOP_KEYS, "")
    thresholds = DEFAULT_THRESHOLDS
    if "thresholds" in doc:
        thresholds = _thresholds(doc["thresholds"], "thresholds")
    hysteresis = _hysteresis(doc.get("hysteresis", Decimal("0.02")), "hysteresis")
    phases: tuple[Phase, ...] = ()
    if "phases" in doc:
        phases = _phases(doc["phases"], "phases")
    default = _platform_rules(thresholds, hysteresis, phases, "phases")
    platforms = {}
    table = doc.get("platforms", {})
    if type(table) is not dict:
        raise ConfigError("platforms: must be a table of platform tables")
    for name, overrides in table.items():
        where = f"platforms.{name}"
        if not is_platform(name):
            raise ConfigError(f"{where}: platform names must match ^[a-z0-9][a-z0-9_-]{{0,31}}$")
        if type(overrides) is not dict:
            raise ConfigError(f"{where}: must be a table")
        _no_unknown_keys(overrides, _PLATFORM_KEYS, where)
        p_thresholds = thresholds
        if "thresholds" in overrides:
            p_thresholds = _thresholds(overrides["thresholds"], f"{where}.thresholds")
        p_hysteresis = hysteresis
        if "hysteresis" in overrides:
            p_hysteresis = _hysteresis(overrides["hysteresis"], f"{where}.hysteresis")
        p_phases = phases
        if "phases" in overrides:
            p_phases = _phases(overrides["phases"], f"{where}.phases")
        platforms[name] = _platform_rules(p_thresholds, p_hysteresis, p_phases, where)
    return Rules(default, platforms)


def load_rules(path: str | os.PathLike[str] | None) -> Rules:
    """Read and validate a TOML file; no path means the defaults."""
    if path is None:
        return Rules()
    try:
        with Path(path).open("rb") as f:
            doc = tomllib.load(f, parse_float=Decimal)
    except FileNotFoundError:
        raise ConfigError(f"configuration file not found: {path}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read configuration file {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    try:
        return parse_rules(doc)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
