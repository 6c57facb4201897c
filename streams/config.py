"""TOML file + environment -> validated settings, once, at start-up."""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from itertools import pairwise
from pathlib import Path
from typing import Any

from streams.core.rules import (
    DEFAULT_THRESHOLDS,
    HYSTERESIS_SCALE,
    Phase,
    PlatformRules,
    Rules,
)
from streams.timestamps import parse_rfc3339

__all__ = [
    "ConfigError",
    "Settings",
    "Topics",
    "load_rules",
    "parse_rules",
]

_PLATFORM = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
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
        if _PLATFORM.fullmatch(name) is None:
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


@dataclass(frozen=True, slots=True)
class Topics:
    """Topic names; every one can be renamed from the environment."""

    follower_changes: str = "follower-changes"
    threshold_crossings: str = "threshold-crossings"
    verification_results: str = "verification-results"
    verification_requests: str = "verification-requests"
    account_restrictions: str = "account-restrictions"
    # internal: one wall-clock tick per partition drives deadlines and phase starts
    policy_ticks: str = "follower-thresholds-policy-ticks"

    @property
    def follower_changes_dlq(self) -> str:
        """Dead letters of `follower_changes`."""
        return f"{self.follower_changes}-dlq"

    @property
    def verification_results_dlq(self) -> str:
        """Dead letters of `verification_results`."""
        return f"{self.verification_results}-dlq"

    def for_policy(self, type_name: str) -> str:
        """The topic of a policy record: restrictions and lifts, or requests."""
        if type_name in ("TrafficRestricted", "RestrictionLifted"):
            return self.account_restrictions
        return self.verification_requests

    def outputs(self) -> list[str]:
        """Every topic the workers write."""
        return [
            self.threshold_crossings,
            self.verification_requests,
            self.account_restrictions,
            self.follower_changes_dlq,
            self.verification_results_dlq,
        ]

    def all(self) -> list[str]:
        """Every topic of the product."""
        return [
            self.follower_changes,
            self.verification_results,
            *self.outputs(),
            f"{self.threshold_crossings}-dlq",
            self.policy_ticks,
        ]

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Topics:
        """Topic names from `TOPIC_*` variables, defaults otherwise."""
        names = {}
        for name in (
            "follower_changes",
            "threshold_crossings",
            "verification_results",
            "verification_requests",
            "account_restrictions",
            "policy_ticks",
        ):
            value = env.get(f"TOPIC_{name.upper()}")
            if value is not None:
                if not re.fullmatch(r"[A-Za-z0-9._-]{1,249}", value):
                    raise ConfigError(
                        f"TOPIC_{name.upper()}: not a valid Kafka topic name: {value!r}"
                    )
                names[name] = value
        return cls(**names)


def _int_env(env: Mapping[str, str], name: str, default: int, minimum: int = 1) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}: expected an integer, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name}: must be at least {minimum}, got {value}")
    return value


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything a worker reads from its environment, validated once."""

    bootstrap_servers: str = "localhost:9092"
    topics: Topics = field(default_factory=Topics)
    partitions: int = 1
    replication_factor: int = 1
    store: str = "memory://"
    config_path: str | None = None
    app_id: str = "follower-thresholds"
    processing_guarantee: str = "at_least_once"
    batch_size: int = 2000
    commit_every: int = 10_000
    data_dir: str = ".thresholds-data"
    recovery_timeout: float = 300.0
    stop_timeout: float = 20.0
    fetch_max_wait_ms: int = 20
    security: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read the environment (`os.environ` by default); ConfigError on a bad value."""
        env = os.environ if env is None else env
        store = env.get("THRESHOLDS_STORE", "memory://")
        if store not in ("memory://", "rocksdb://"):
            raise ConfigError(f"THRESHOLDS_STORE: must be memory:// or rocksdb://, got {store!r}")
        guarantee = env.get("PROCESSING_GUARANTEE", "at_least_once")
        if guarantee not in ("at_least_once", "exactly_once"):
            raise ConfigError(
                f"PROCESSING_GUARANTEE: must be at_least_once or exactly_once, got {guarantee!r}"
            )
        security = {
            k: env[k]
            for k in (
                "KAFKA_SECURITY_PROTOCOL",
                "KAFKA_SASL_MECHANISM",
                "KAFKA_SASL_USERNAME",
                "KAFKA_SASL_PASSWORD",
                "KAFKA_SSL_CAFILE",
                "KAFKA_SSL_CERTFILE",
                "KAFKA_SSL_KEYFILE",
            )
            if env.get(k)
        }
        return cls(
            bootstrap_servers=env.get("KAFKA_BOOTSTRAP_SERVERS") or "localhost:9092",
            topics=Topics.from_env(env),
            partitions=_int_env(env, "TOPIC_PARTITIONS", 1),
            replication_factor=_int_env(env, "TOPIC_REPLICATION_FACTOR", 1),
            store=store,
            config_path=env.get("THRESHOLDS_CONFIG") or None,
            app_id=env.get("THRESHOLDS_APP_ID", "follower-thresholds"),
            processing_guarantee=guarantee,
            batch_size=_int_env(env, "THRESHOLDS_BATCH_SIZE", 2000),
            commit_every=_int_env(env, "THRESHOLDS_COMMIT_EVERY", 10_000),
            data_dir=env.get("THRESHOLDS_DATA_DIR", ".thresholds-data"),
            recovery_timeout=float(_int_env(env, "THRESHOLDS_RECOVERY_TIMEOUT", 300)),
            stop_timeout=float(_int_env(env, "THRESHOLDS_STOP_TIMEOUT", 20)),
            fetch_max_wait_ms=_int_env(env, "THRESHOLDS_FETCH_MAX_WAIT_MS", 20),
            security=security,
        )
