"""Which broker to run against, in the order the tests and the demo use.

`KAFKA_BOOTSTRAP_SERVERS` when set (with the environment's security
settings, for a secured cluster); else a broker a caller can start (the
test kit adds testcontainers when a Docker engine answers); else Apache Kafka
as a JVM process when `java` and `mvn` are present and wanted; else the
embedded Tansu broker. Nothing here imports testcontainers.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from streams.config import SECURITY_VARIABLES

__all__ = ["Broker", "docker_answers", "find_broker"]


@dataclass
class Broker:
    """A broker to use: its address, what it is, and how to stop it."""

    bootstrap_servers: str
    kind: str  # "given", "container", "apache-kafka" or "tansu"
    stop: Callable[[], None]
    log: Path | None = None
    # a given broker's client settings from the environment (KAFKA_SECURITY_PROTOCOL,
    # KAFKA_SASL_*, KAFKA_SSL_*), a secret left in its file when one is named
    security: Mapping[str, str] = field(default_factory=dict, repr=False)


def docker_answers() -> bool:
    """Whether a Docker engine answers `GET /_ping` on its socket (or DOCKER_HOST)."""
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    try:
        if host.startswith("unix://"):
            conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            address: Any = host[len("unix://") :]
        elif host.startswith("tcp://"):
            conn = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            name, _, port = host[len("tcp://") :].partition(":")
            address = (name, int(port or 2375))
        else:
            return False
    except OSError:
        return False
    with conn:
        conn.settimeout(2)
        try:
            conn.connect(address)
            conn.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            reply = conn.recv(64)
            return reply.startswith(b"HTTP/1.") and b" 200" in reply
        except OSError:
            return False


def find_broker(
    *,
    container: Callable[[], Broker] | None = None,
    apache_kafka: bool = True,
    workdir: Path | None = None,
) -> Broker:
    """The first broker available, in the order above.

    `container` starts a broker in a container when a Docker engine answers;
    with `apache_kafka` false the JVM broker is skipped (the demo's zero-setup
    default is Tansu).
    """
    given = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if given:
        security = {k: v for k, v in os.environ.items() if k in SECURITY_VARIABLES}
        return Broker(given, "given", lambda: None, security=security)
    if container is not None and docker_answers():
        return container()
    if apache_kafka:
        from streams.kafka import apache

        if apache.can_run():
            kafka = apache.start_apache_kafka(workdir=workdir)
            return Broker(kafka.bootstrap_servers, "apache-kafka", kafka.stop, kafka.log)
    from streams.kafka.embedded import start_embedded_broker

    tansu = start_embedded_broker()
    return Broker(tansu.bootstrap_servers, "tansu", tansu.stop)
