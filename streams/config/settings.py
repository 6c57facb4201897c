"""The environment -> validated settings: broker, topics, store, tuning."""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field

from streams.config.rules_file import ConfigError

__all__ = ["SECURITY_VARIABLES", "Settings", "Topics", "read_secret"]

SECURITY_VARIABLES = (
    "KAFKA_SECURITY_PROTOCOL",
    "KAFKA_SASL_MECHANISM",
    "KAFKA_SASL_USERNAME",
    "KAFKA_SASL_PASSWORD",
    "KAFKA_SASL_PASSWORD_FILE",
    "KAFKA_SSL_CAFILE",
    "KAFKA_SSL_CERTFILE",
    "KAFKA_SSL_KEYFILE",
)
"""The environment variables of a client's security settings."""


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


def read_secret(env: Mapping[str, str], name: str) -> str | None:
    """A secret from `name`, or read from the file `name`_FILE names (a mounted
    Kubernetes or compose secret; one trailing newline dropped). ConfigError
    when both are set or the file cannot be read; never with the secret."""
    path = env.get(f"{name}_FILE")
    if not path:
        return env.get(name) or None
    if env.get(name):
        raise ConfigError(f"{name} and {name}_FILE are both set: keep one")
    try:
        with open(path, encoding="utf-8") as file:
            value = file.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{name}_FILE: cannot read {path}: {exc.__class__.__name__}") from None
    value = value.removesuffix("\n").removesuffix("\r")
    if not value:
        raise ConfigError(f"{name}_FILE: {path} is empty")
    return value


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything a worker reads from its environment, validated once."""

    bootstrap_servers: str = "localhost:9092"
    topics: Topics = field(default_factory=Topics)
    partitions: int = 1
    replication_factor: int = 1
    # replicas that must have a write before it is acknowledged (acks=all)
    min_insync_replicas: int = 1
    store: str = "memory://"
    config_path: str | None = None
    app_id: str = "follower-thresholds"
    processing_guarantee: str = "at_least_once"
    batch_size: int = 2000
    commit_every: int = 10_000
    data_dir: str = ".thresholds-data"
    recovery_timeout: float = 300.0
    # no broker answering for this long ends the worker (exit 70, one ERROR line)
    broker_timeout: float = 120.0
    stop_timeout: float = 20.0
    fetch_max_wait_ms: int = 20
    # never in a repr: it holds the SASL password
    security: Mapping[str, str] = field(default_factory=dict, repr=False)
    web_host: str = "0.0.0.0"  # noqa: S104 - a worker serves its probes to the orchestrator
    web_port: int = 6066
    # the URL other workers reach this one at (lookups are forwarded to the key's owner)
    web_url: str = "http://localhost:6066"
    web_token: str | None = field(default=None, repr=False)
    log_format: str = "auto"  # json when stderr is not a terminal; json or text to force
    # the policy agent runs beside the crossing agent; off only to measure the
    # crossing agent alone (benchmarks/like_for_like.py): no requests, no restrictions
    policy: bool = True

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
        if guarantee == "exactly_once" and store == "rocksdb://":
            # a RocksDB store keeps the writes of a transaction that was then
            # aborted (a kill -9, a partition that moved) across a restart
            raise ConfigError(
                "PROCESSING_GUARANTEE=exactly_once needs THRESHOLDS_STORE=memory:// "
                "(a rocksdb:// store would keep the state of aborted transactions)"
            )
        security = {
            k: env[k]
            for k in SECURITY_VARIABLES
            if env.get(k) and not k.startswith("KAFKA_SASL_PASSWORD")
        }
        password = read_secret(env, "KAFKA_SASL_PASSWORD")
        if password:
            security["KAFKA_SASL_PASSWORD"] = password
        policy = env.get("THRESHOLDS_POLICY", "on")
        if policy not in ("on", "off"):
            raise ConfigError(f"THRESHOLDS_POLICY: must be on or off, got {policy!r}")
        web_port = _int_env(env, "THRESHOLDS_WEB_PORT", 6066)
        if web_port > 65535:
            raise ConfigError(f"THRESHOLDS_WEB_PORT: not a TCP port: {web_port}")
        web_url = (
            env.get("THRESHOLDS_WEB_URL") or f"http://{socket.gethostname()}:{web_port}"
        ).rstrip("/")
        if not re.fullmatch(r"https?://[^/\s]+", web_url):
            raise ConfigError(
                f"THRESHOLDS_WEB_URL: expected http://HOST:PORT (no path), got {web_url!r}"
            )
        log_format = env.get("THRESHOLDS_LOG_FORMAT") or "auto"
        if log_format not in ("auto", "json", "text"):
            raise ConfigError(
                f"THRESHOLDS_LOG_FORMAT: must be auto, json or text, got {log_format!r}"
            )
        replication = _int_env(env, "TOPIC_REPLICATION_FACTOR", 1)
        # one broker down must neither stop writes nor leave one copy of a write
        min_insync = _int_env(env, "TOPIC_MIN_INSYNC_REPLICAS", 2 if replication >= 3 else 1)
        if min_insync > replication:
            raise ConfigError(
                f"TOPIC_MIN_INSYNC_REPLICAS: {min_insync} is more than "
                f"TOPIC_REPLICATION_FACTOR ({replication}): no write could be acknowledged"
            )
        return cls(
            bootstrap_servers=env.get("KAFKA_BOOTSTRAP_SERVERS") or "localhost:9092",
            topics=Topics.from_env(env),
            partitions=_int_env(env, "TOPIC_PARTITIONS", 1),
            replication_factor=replication,
            min_insync_replicas=min_insync,
            store=store,
            config_path=env.get("THRESHOLDS_CONFIG") or None,
            app_id=env.get("THRESHOLDS_APP_ID", "follower-thresholds"),
            processing_guarantee=guarantee,
            batch_size=_int_env(env, "THRESHOLDS_BATCH_SIZE", 2000),
            commit_every=_int_env(env, "THRESHOLDS_COMMIT_EVERY", 10_000),
            data_dir=env.get("THRESHOLDS_DATA_DIR", ".thresholds-data"),
            recovery_timeout=float(_int_env(env, "THRESHOLDS_RECOVERY_TIMEOUT", 300)),
            broker_timeout=float(_int_env(env, "THRESHOLDS_BROKER_TIMEOUT", 120)),
            stop_timeout=float(_int_env(env, "THRESHOLDS_STOP_TIMEOUT", 20)),
            fetch_max_wait_ms=_int_env(env, "THRESHOLDS_FETCH_MAX_WAIT_MS", 20),
            security=security,
            web_host=env.get("THRESHOLDS_WEB_HOST") or "0.0.0.0",  # noqa: S104
            web_port=web_port,
            web_url=web_url,
            web_token=read_secret(env, "THRESHOLDS_WEB_TOKEN"),
            log_format=log_format,
            policy=policy == "on",
        )
