"""Apache Kafka (KRaft, one node) as a JVM process, without Docker.

The broker's jars are resolved from Maven Central once by `pom.xml` (`mvn
dependency:copy-dependencies`) into a cache folder and reused; each start
formats a fresh log directory with Kafka's storage tool and runs `kafka.Kafka`
with the settings of `deploy/kafka/server.properties` (the compose file's),
listeners on free loopback ports. The broker's own log goes to a file, shown
when it fails to start.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from streams.kafka.embedded import free_port

__all__ = [
    "KAFKA_VERSION",
    "ApacheKafka",
    "KafkaUnavailable",
    "can_run",
    "launch",
    "new_cluster_id",
    "resolve_jars",
    "start_apache_kafka",
]

KAFKA_VERSION = "4.1.1"
"""The Apache Kafka of the tests, `thresholds broker --kafka` and docker-compose.yml."""

_HERE = Path(__file__).parent
_POM = _HERE / "pom.xml"
_SERVER_PROPERTIES = _HERE / "server.properties"
_LOG4J = _HERE / "log4j2.properties"


class KafkaUnavailable(RuntimeError):
    """Apache Kafka could not be resolved or started; the message says why."""


def can_run() -> bool:
    """Whether `java` and `mvn` are on the PATH."""
    return shutil.which("java") is not None and shutil.which("mvn") is not None


def _cache() -> Path:
    root = os.environ.get("THRESHOLDS_KAFKA_HOME") or Path.home() / ".cache" / "follower-thresholds"
    # a changed pom.xml (another jar, say) resolves into a folder of its own
    pom = hashlib.sha256(_POM.read_bytes()).hexdigest()[:10]
    return Path(root) / f"kafka-{KAFKA_VERSION}-{pom}"


def resolve_jars() -> Path:
    """The folder of the broker's jars, resolved from Maven Central on first use."""
    lib = _cache() / "lib"
    done = lib / ".complete"
    if done.exists():
        return lib
    partial = lib.with_name("lib.partial")
    shutil.rmtree(partial, ignore_errors=True)
    cmd = [
        "mvn",
        "-q",
        "-B",
        "-f",
        str(_POM),
        "dependency:copy-dependencies",
        f"-DoutputDirectory={partial}",
        "-DincludeScope=runtime",
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        tail = " | ".join((result.stdout + result.stderr).strip().splitlines()[-3:])
        raise KafkaUnavailable(f"mvn could not resolve Apache Kafka {KAFKA_VERSION}: {tail}")
    shutil.rmtree(lib, ignore_errors=True)
    partial.rename(lib)
    done.write_text(KAFKA_VERSION)
    return lib


@dataclass
class ApacheKafka:
    """A running Apache Kafka process."""

    process: subprocess.Popen[bytes]
    port: int
    workdir: Path

    @property
    def bootstrap_servers(self) -> str:
        """`localhost:PORT`."""
        return f"localhost:{self.port}"

    @property
    def log(self) -> Path:
        """The broker's own log."""
        return self.workdir / "kafka.log"

    def wait(self) -> int:
        """Block until the broker exits; its status."""
        return self.process.wait()

    def stop(self) -> None:
        """Stop the broker (SIGTERM, then SIGKILL after 20 s)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _properties(port: int, controller_port: int, data: Path) -> str:
    overrides = {
        "controller.quorum.voters": f"1@localhost:{controller_port}",
        "listeners": f"PLAINTEXT://localhost:{port},CONTROLLER://localhost:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://localhost:{port}",
        "log.dirs": str(data),
    }
    lines = []
    for line in _SERVER_PROPERTIES.read_text().splitlines():
        name = line.split("=", 1)[0].strip()
        if name not in overrides:
            lines.append(line)
    lines += [f"{k}={v}" for k, v in overrides.items()]
    return "\n".join(lines) + "\n"


def _java(lib: Path, main: str, *args: str, log: Path | None = None) -> list[str]:
    return [
        "java",
        "-Xms256m",
        "-Xmx1g",
        "-XX:+UseG1GC",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={_LOG4J}",
        *([f"-Dkafka.logs.file={log}"] if log else []),
        "-cp",
        f"{lib}/*",
        main,
        *args,
    ]


def start_apache_kafka(
    port: int | None = None, workdir: Path | None = None, timeout: float = 90.0
) -> ApacheKafka:
    """Resolve (first use), format and start Apache Kafka; return once it accepts connections."""
    workdir = workdir or Path(tempfile.mkdtemp(prefix="apache-kafka-"))
    port = port or free_port()
    config = _properties(port, free_port(), workdir / "data")
    process = launch(
        workdir, config, answers=lambda: _answers(f"localhost:{port}"), timeout=timeout
    )
    return ApacheKafka(process, port, workdir)


def new_cluster_id() -> str:
    """A KRaft cluster id for the storage tool."""
    cluster_id = "-"
    while cluster_id.startswith("-"):
        # as Kafka's Uuid.randomUuid: an id starting with "-" reads as an option
        # to the storage tool (1 start in 64 failed with its usage message)
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
    return cluster_id


def launch(
    workdir: Path,
    config: str,
    *,
    answers: Callable[[], bool],
    format_args: Sequence[str] = (),
    timeout: float = 90.0,
) -> subprocess.Popen[bytes]:
    """Write `config` to `workdir`/server.properties, format the storage (with
    `format_args`, e.g. SCRAM users), start the node and return once
    `answers()`; KafkaUnavailable with the log's tail otherwise."""
    lib = resolve_jars()
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "server.properties"
    path.write_text(config)
    log = workdir / "kafka.log"
    formatted = subprocess.run(  # noqa: S603 - java on our own classpath
        _java(
            lib,
            "kafka.tools.StorageTool",
            "format",
            "-t",
            new_cluster_id(),
            "-c",
            str(path),
            *format_args,
        ),
        capture_output=True,
        text=True,
        check=False,
    )
    if formatted.returncode != 0:
        raise KafkaUnavailable(f"kafka-storage format failed: {formatted.stderr.strip()[-500:]}")
    with log.open("ab") as out:
        process = subprocess.Popen(  # noqa: S603 - java on our own classpath
            _java(lib, "kafka.Kafka", str(path)),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + timeout
    while not answers():
        if process.poll() is not None:
            raise KafkaUnavailable(
                f"Apache Kafka exited with {process.returncode} at start-up; "
                f"its log: {log}\n{_tail(log)}"
            )
        if time.monotonic() > deadline:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
            raise KafkaUnavailable(
                f"Apache Kafka did not answer within {timeout:.0f}s; its log: {log}\n{_tail(log)}"
            )
        time.sleep(0.3)
    return process


def _answers(bootstrap_servers: str, **config: Any) -> bool:
    """Whether the broker answers a metadata request (it listens before it serves);
    `config`: kafka-python's security settings."""
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    try:
        admin = KafkaAdminClient(
            bootstrap_servers=bootstrap_servers, request_timeout_ms=3000, **config
        )
    except (KafkaError, OSError, ValueError):
        return False
    try:
        admin.list_topics()
        return True
    except (KafkaError, OSError):
        return False
    finally:
        admin.close()


def _tail(log: Path, lines: int = 30) -> str:
    if not log.exists():
        return ""
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
