"""Which bootstrap servers answer, so the kafka-python tools start from those.

kafka-python bootstraps from one server picked at random and gives that one
the whole bootstrap timeout. A broker that is down is skipped quickly, but a
hung one (its socket accepts, its process answers nothing) takes the whole
timeout, and a tool then failed with "Unable to bootstrap" while two brokers
of three were serving. Each server is asked for its API versions, all at
once, with a short timeout; the tools bootstrap from those that answered,
in the order given, or from the whole list when none did (the client then
fails with its own error).
"""

from __future__ import annotations

import socket
import ssl
import struct
import threading
import time
from collections.abc import Mapping

__all__ = ["answering", "untrusted_certificate"]

PROBE_SECONDS = 2.0
"""How long a server has to answer the probe."""

REMEMBER_SECONDS = 10.0
"""How long a probe's answer is reused (tools make many short-lived clients)."""

_seen: dict[tuple[str, ...], tuple[float, list[str]]] = {}
_lock = threading.Lock()

# ApiVersions v0 (api key 18), correlation id 1, client id "probe": allowed on
# every listener before authentication
_API_VERSIONS = struct.pack(">hhih5s", 18, 0, 1, 5, b"probe")
_REQUEST = struct.pack(">i", len(_API_VERSIONS)) + _API_VERSIONS


def answering(servers: list[str], security: Mapping[str, str]) -> list[str]:
    """The servers of `servers` that answer, in order; all of them if none does."""
    key = tuple(servers)
    with _lock:
        seen = _seen.get(key)
        if seen is not None and time.monotonic() - seen[0] < REMEMBER_SECONDS:
            return seen[1]
    results: dict[str, bool] = {}
    threads = [
        threading.Thread(target=_probe, args=(s, security, results), daemon=True) for s in servers
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(PROBE_SECONDS + 1.0)
    alive = [s for s in servers if results.get(s)] or list(servers)
    with _lock:
        _seen[key] = (time.monotonic(), alive)
    return alive


def _probe(server: str, security: Mapping[str, str], results: dict[str, bool]) -> None:
    host, _, port = server.strip().rpartition(":")
    try:
        with socket.create_connection((host or "localhost", int(port)), PROBE_SECONDS) as raw:
            raw.settimeout(PROBE_SECONDS)
            protocol = security.get("KAFKA_SECURITY_PROTOCOL", "PLAINTEXT").upper()
            conn: socket.socket = raw
            if protocol in ("SSL", "SASL_SSL"):
                # the TLS socket takes the connection over: closing `raw` no
                # longer closes it (a file descriptor left open per probe)
                conn = _context(security).wrap_socket(raw, server_hostname=host or "localhost")
            with conn:
                conn.sendall(_REQUEST)
                results[server] = len(conn.recv(8)) >= 4
    except (OSError, ValueError):
        results[server] = False


def untrusted_certificate(server: str, security: Mapping[str, str]) -> str | None:
    """Why this client does not trust `server`'s certificate (an unknown CA,
    a certificate for another host), as Python's TLS check words it; None
    when it does, or when the server does not answer."""
    host, _, port = server.strip().rpartition(":")
    try:
        with socket.create_connection((host or "localhost", int(port)), PROBE_SECONDS) as raw:
            raw.settimeout(PROBE_SECONDS)
            with _context(security).wrap_socket(raw, server_hostname=host or "localhost"):
                return None
    except ssl.SSLCertVerificationError as exc:
        return str(exc.verify_message).rstrip(".")
    except (OSError, ValueError):
        return None


def _context(security: Mapping[str, str]) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=security.get("KAFKA_SSL_CAFILE"))
    if "KAFKA_SSL_CERTFILE" in security:
        context.load_cert_chain(security["KAFKA_SSL_CERTFILE"], security.get("KAFKA_SSL_KEYFILE"))
    return context
