"""The Faust app: broker settings, topics and tables. Wiring only.

`faust -A streams.engine.app worker -l info` runs it as `thresholds worker` does,
from the environment (see the README's settings table).
"""

from __future__ import annotations

import ssl
from typing import Any

import faust

from streams.config import Settings
from streams.core.rules import Rules

__all__ = ["create_app"]


def _credentials(settings: Settings) -> Any:
    sec = settings.security
    protocol = sec.get("KAFKA_SECURITY_PROTOCOL", "PLAINTEXT").upper()
    if protocol == "PLAINTEXT":
        return None
    context = None
    if protocol in ("SSL", "SASL_SSL"):
        context = ssl.create_default_context(cafile=sec.get("KAFKA_SSL_CAFILE"))
        if "KAFKA_SSL_CERTFILE" in sec:
            context.load_cert_chain(sec["KAFKA_SSL_CERTFILE"], sec.get("KAFKA_SSL_KEYFILE"))
    if protocol == "SSL":
        return faust.SSLCredentials(context)
    return faust.SASLCredentials(
        username=sec.get("KAFKA_SASL_USERNAME"),
        password=sec.get("KAFKA_SASL_PASSWORD"),
        mechanism=sec.get("KAFKA_SASL_MECHANISM", "PLAIN"),
        ssl_context=context,
    )


def create_app(settings: Settings, rules: Rules, *, fast_start: bool = False) -> faust.App:
    """A Faust app with the crossing and policy agents, for `settings` and `rules`.

    `fast_start` shortens the group-join timeouts for tests and the demo, where
    one worker joins an empty group on a local broker.
    """
    # shortpoll:// is Faust's aiokafka transport with a short fetch wait (streams.engine.transport)
    brokers = [f"shortpoll://{s.strip()}" for s in settings.bootstrap_servers.split(",")]
    options: dict[str, Any] = {
        "broker": brokers,
        "broker_credentials": _credentials(settings),
        "store": settings.store,
        "datadir": settings.data_dir,
        "topic_partitions": settings.partitions,
        "topic_replication_factor": settings.replication_factor,
        "processing_guarantee": settings.processing_guarantee,
        # the operations endpoints (streams.engine.web); Faust's own pages
        # (table contents, router map, graphs) are off: they would bypass the token
        "web_enabled": True,
        "web_bind": settings.web_host,
        "web_port": settings.web_port,
        "canonical_url": settings.web_url,
        "web_router_enabled": False,
        "web_tables_enabled": False,
        "web_graph_enabled": False,
        "web_stats_enabled": False,
        "consumer_auto_offset_reset": "earliest",
        "broker_commit_interval": 0.5,
        "broker_commit_every": settings.commit_every,
        "producer_linger_ms": 2,
        "producer_max_batch_size": 512 * 1024,
        "producer_max_request_size": 4 * 1024 * 1024,
        "stream_buffer_maxsize": 8192,
        "table_standby_replicas": 0,
        "consumer_max_fetch_size": 4 * 1024 * 1024,
        # restores tables by reading their changelogs in bulk (streams.engine.restore)
        "TableManager": "streams.engine.restore:TableManager",
    }
    if fast_start:
        # not broker_request_timeout: it also bounds the bulk changelog read
        # (streams.engine.restore), ~300,000 records a second
        options.update(
            broker_session_timeout=10.0,
            broker_heartbeat_interval=1.0,
            broker_rebalance_timeout=10.0,
            stream_recovery_delay=0.0,
        )
    app = faust.App(settings.app_id, **options)
    from streams.engine.transactions import GATE_ATTRIBUTE, Gate
    from streams.engine.transport import SETTINGS_ATTRIBUTE

    # the transport reads its settings from the app, not the environment
    setattr(app, SETTINGS_ATTRIBUTE, settings)
    setattr(app, GATE_ATTRIBUTE, Gate(settings.processing_guarantee == "exactly_once"))
    from streams.engine import agents  # the agents register themselves on this app

    agents.register(app, settings, rules)
    return app


def __getattr__(name: str) -> Any:
    # `faust -A streams.engine.app` finds `app` here, built from the environment
    if name == "app":
        from streams.config import load_rules

        settings = Settings.from_env()
        return create_app(settings, load_rules(settings.config_path))
    raise AttributeError(name)
