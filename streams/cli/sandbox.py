"""A sandbox on a broker: isolated topics, a consumer group, workers in child processes.

The demo runs in one; the test harness (`streams.testing`) builds on it.

Each `Harness` gets its own topic names and consumer group, so tests can
share one broker without seeing each other's records.
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from streams.config import Settings, Topics
from streams.kafka import client as kafka_io
from streams.kafka.client import ConsumedRecord
from streams.kafka.embedded import free_port

__all__ = ["Harness", "Worker"]


@dataclass
class Worker:
    """A `thresholds worker` child process."""

    process: subprocess.Popen[bytes]
    log: Path
    url: str = ""  # its web server: /health, /ready, /metrics, /accounts

    def kill(self) -> None:
        """kill -9: no shutdown, no commit."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def terminate(self, timeout: float = 30.0) -> float:
        """SIGTERM and wait; return the seconds it took to exit."""
        start = time.monotonic()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                raise
        return time.monotonic() - start

    @property
    def alive(self) -> bool:
        """Whether the process still runs."""
        return self.process.poll() is None

    @property
    def worker_pid(self) -> int:
        """The pid of the Faust worker itself (the supervisor's child)."""
        pid = self.process.pid
        children = Path(f"/proc/{pid}/task/{pid}/children")
        if children.exists():
            found = children.read_text().split()
            if found:
                return int(found[0])
        return pid


@dataclass
class Harness:
    """Topics, a consumer group and workers of one test, on a shared broker."""

    bootstrap_servers: str
    partitions: int = 1
    replication: int = 1
    config: str | None = None
    store: str = "memory://"
    commit_every: int | None = None
    processing_guarantee: str = "at_least_once"
    web_token: str | None = None
    policy: bool = True  # off: the crossing agent alone (benchmarks)
    # KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_*, KAFKA_SSL_*: the workers' and the harness's own
    security: Mapping[str, str] = field(default_factory=dict)
    name: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="thresholds-")))
    workers: list[Worker] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        """The environment that points a worker at this harness's topics."""
        n = self.name
        return {
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap_servers,
            "THRESHOLDS_APP_ID": f"thresholds-{n}",
            "THRESHOLDS_DATA_DIR": str(self.workdir / "data"),
            "THRESHOLDS_STORE": self.store,
            "TOPIC_PARTITIONS": str(self.partitions),
            "TOPIC_REPLICATION_FACTOR": str(self.replication),
            "TOPIC_FOLLOWER_CHANGES": f"follower-changes-{n}",
            "TOPIC_THRESHOLD_CROSSINGS": f"threshold-crossings-{n}",
            "TOPIC_VERIFICATION_RESULTS": f"verification-results-{n}",
            "TOPIC_VERIFICATION_REQUESTS": f"verification-requests-{n}",
            "TOPIC_ACCOUNT_RESTRICTIONS": f"account-restrictions-{n}",
            "TOPIC_POLICY_TICKS": f"policy-ticks-{n}",
            **({"THRESHOLDS_CONFIG": self.config} if self.config else {}),
            **({"THRESHOLDS_COMMIT_EVERY": str(self.commit_every)} if self.commit_every else {}),
            "PROCESSING_GUARANTEE": self.processing_guarantee,
            **({"THRESHOLDS_WEB_TOKEN": self.web_token} if self.web_token else {}),
            **({} if self.policy else {"THRESHOLDS_POLICY": "off"}),
            **self.security,
        }

    @property
    def settings(self) -> Settings:
        """Settings as the worker reads them."""
        return Settings.from_env(self.env)

    @property
    def topics(self) -> Topics:
        """This harness's topic names."""
        return self.settings.topics

    def create_topics(self) -> None:
        """Create every topic with explicit settings."""
        kafka_io.ensure_topics(self.settings)

    def start_worker(
        self,
        *,
        wait: bool = True,
        timeout: float = 90.0,
        bootstrap_servers: str | None = None,
        security: Mapping[str, str] | None = None,
    ) -> Worker:
        """Start a worker; by default wait until it logs `Worker ready`.
        `bootstrap_servers` points this worker (not the harness's own
        clients) at other addresses of the same brokers, e.g. through proxies;
        `security` gives it other credentials than the harness's own."""
        from streams.cli.worker_process import spawn_worker, wait_ready

        log = self.workdir / f"worker-{len(self.workers)}.log"
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = {**self.env, "THRESHOLDS_WEB_PORT": str(port), "THRESHOLDS_WEB_URL": url}
        if bootstrap_servers:
            env["KAFKA_BOOTSTRAP_SERVERS"] = bootstrap_servers
        if security is not None:
            env = {k: v for k, v in env.items() if k not in self.security} | dict(security)
        worker = Worker(spawn_worker(env, log=log), log, url)
        self.workers.append(worker)
        if wait:
            wait_ready(log, worker.process, timeout)
        return worker

    def produce(self, values: Iterable[Mapping[str, Any] | bytes]) -> int:
        """Produce log values (dicts or raw lines), keyed as the spec says."""
        from streams.kafka.produce import produce_lines

        lines = [v if isinstance(v, bytes) else orjson.dumps(v) for v in values]
        t = self.topics
        # every record acknowledged, or ProduceError: a test never runs on part of its log
        return produce_lines(self.settings, t.follower_changes, t.verification_results, lines)

    def send_raw(self, topic: str, records: Iterable[tuple[bytes | None, bytes | None]]) -> int:
        """Send (key, value) records to `topic` exactly as given (hostile ones too)."""
        return kafka_io.send_raw(self.settings, topic, records)

    def read(
        self, *topics: str, timeout: float = 30.0, committed_only: bool = False
    ) -> list[ConsumedRecord]:
        """Every record on `topics` so far (to the fetch high watermark); with
        `committed_only`, as a read_committed consumer sees them."""
        return kafka_io.read_all(
            self.settings, topics, timeout=timeout, committed_only=committed_only
        )

    def wait_processed(self, timeout: float = 60.0) -> None:
        """Block until the worker group has committed everything produced to its inputs."""
        t = self.topics
        kafka_io.wait_committed(
            self.settings,
            self.settings.app_id,
            [t.follower_changes, t.verification_results, t.threshold_crossings],
            timeout=timeout,
        )

    def wait_for(self, topic: str, count: int, *, timeout: float = 60.0) -> list[ConsumedRecord]:
        """Read `topic` until it holds at least `count` records."""
        deadline = time.monotonic() + timeout
        while True:
            records = self.read(topic)
            if len(records) >= count:
                return records
            if time.monotonic() > deadline:
                raise TimeoutError(f"{topic}: {len(records)} of {count} records after {timeout}s")
            time.sleep(0.2)

    def stop(self) -> None:
        """Stop every worker this harness started."""
        for worker in self.workers:
            worker.kill()

    def worker_logs(self) -> Iterator[str]:
        """The logs of the workers, for failure messages."""
        for worker in self.workers:
            if worker.log.exists():
                yield worker.log.read_text(errors="replace")
