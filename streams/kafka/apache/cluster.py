"""A replicated Apache Kafka cluster (KRaft, every node a broker and a voter
of a three-voter controller quorum) as JVM processes on loopback, for the
broker-fault tests and `thresholds broker --kafka --nodes 3`.

Each node keeps its own folder (configuration, data, its own log) so it can
be killed, stopped (SIGSTOP, a hung broker) and restarted on the same data.
Topics default to replication 3 with `min.insync.replicas=2`, unclean leader
election off: what docs/operations.md asks of a production cluster.
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from streams.kafka.apache import (
    _SERVER_PROPERTIES,
    KafkaUnavailable,
    _answers,
    _java,
    _tail,
    new_cluster_id,
    resolve_jars,
)
from streams.kafka.embedded import free_port

__all__ = ["ApacheKafkaCluster", "Node", "start_apache_kafka_cluster"]

REPLICATED = {
    "default.replication.factor": "3",
    "min.insync.replicas": "2",
    "offsets.topic.replication.factor": "3",
    "transaction.state.log.replication.factor": "3",
    "transaction.state.log.min.isr": "2",
    "unclean.leader.election.enable": "false",
    # a member that died is noticed by its session timeout; nothing to wait for
    "group.initial.rebalance.delay.ms": "0",
}
"""Settings of every node of the cluster beyond the one-node file's."""


@dataclass
class Node:
    """One broker-and-controller of the cluster."""

    node_id: int
    port: int
    controller_port: int
    workdir: Path
    lib: Path
    # a second client listener, advertised at `relay_port`: a test's relay
    # (e.g. a proxy that can cut the connection) forwards relay_port -> proxied_port
    proxied_port: int = 0
    relay_port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        """`localhost:PORT` of its client listener."""
        return f"localhost:{self.port}"

    @property
    def log(self) -> Path:
        """The node's own log (kept across restarts)."""
        return self.workdir / "kafka.log"

    @property
    def running(self) -> bool:
        """Whether its process is alive (a stopped, hung one counts)."""
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        """Start the node on its data (formatted once by the cluster)."""
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(  # noqa: S603 - java on our own classpath
                _java(self.lib, "kafka.Kafka", str(self.workdir / "server.properties")),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def kill(self) -> None:
        """kill -9."""
        if self.running:
            assert self.process is not None  # noqa: S101 - checked by running
            self.process.kill()
            self.process.wait()

    def stop(self, timeout: float = 30.0) -> None:
        """A clean shutdown (SIGTERM), as a rolling restart does; kill after `timeout`."""
        if self.running:
            assert self.process is not None  # noqa: S101 - checked by running
            self.resume()
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()

    def pause(self) -> None:
        """SIGSTOP: a broker that hangs without dying."""
        if self.running:
            assert self.process is not None  # noqa: S101 - checked by running
            os.kill(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT after `pause`."""
        if self.running:
            assert self.process is not None  # noqa: S101 - checked by running
            os.kill(self.process.pid, signal.SIGCONT)


@dataclass
class ApacheKafkaCluster:
    """Three running Apache Kafka nodes."""

    nodes: list[Node]
    workdir: Path
    stopped: list[int] = field(default_factory=list)

    @property
    def bootstrap_servers(self) -> str:
        """Every node's address, comma-separated."""
        return ",".join(n.address for n in self.nodes)

    @property
    def relayed_servers(self) -> str:
        """Every node's relayed address (its second listener as advertised),
        comma-separated: for clients that must go through a test's relays."""
        return ",".join(f"localhost:{n.relay_port}" for n in self.nodes)

    @property
    def logs(self) -> list[Path]:
        """Each node's own log."""
        return [n.log for n in self.nodes]

    @property
    def log(self) -> Path:
        """The first node's log (what the one-node fixture shows on failure)."""
        return self.nodes[0].log

    def node(self, node_id: int) -> Node:
        """The node with this id."""
        return next(n for n in self.nodes if n.node_id == node_id)

    def wait_serving(self, node: Node, timeout: float = 90.0) -> None:
        """Block until `node` answers a metadata request."""
        deadline = time.monotonic() + timeout
        while not _answers(node.address):
            if not node.running:
                raise KafkaUnavailable(f"node {node.node_id} exited: {_tail(node.log)}")
            if time.monotonic() > deadline:
                raise KafkaUnavailable(f"node {node.node_id} did not answer: {_tail(node.log)}")
            time.sleep(0.3)

    def restart(self, node: Node) -> None:
        """Start a stopped or killed node again on its data and wait until it serves."""
        node.start()
        self.wait_serving(node)

    def leader_of(self, topic: str, partition: int) -> Node:
        """The node leading `topic`'s `partition` now."""
        from kafka import KafkaAdminClient

        admin = KafkaAdminClient(bootstrap_servers=self._serving(), request_timeout_ms=10_000)
        try:
            for described in admin.describe_topics([topic]):
                for p in described["partitions"]:
                    if p["partition_index"] == partition and p["leader_id"] >= 0:
                        return self.node(int(p["leader_id"]))
        finally:
            admin.close()
        raise KafkaUnavailable(f"no leader for {topic}[{partition}]")

    def wait_in_sync(self, timeout: float = 120.0) -> None:
        """Block until every partition has all its replicas in sync (what a
        rolling restart waits for before it stops the next broker)."""
        from kafka import KafkaAdminClient
        from kafka.errors import KafkaError

        deadline = time.monotonic() + timeout
        while True:
            try:
                admin = KafkaAdminClient(
                    bootstrap_servers=self._serving(), request_timeout_ms=10_000
                )
                try:
                    described = admin.describe_topics()
                finally:
                    admin.close()
                lagging = [
                    (t["name"], p["partition_index"])
                    for t in described
                    for p in t["partitions"]
                    if set(p["isr_nodes"]) != set(p["replica_nodes"])
                ]
            except (KafkaError, OSError) as exc:
                lagging = [(repr(exc), -1)]
            if not lagging:
                return
            if time.monotonic() > deadline:
                raise KafkaUnavailable(f"replicas not in sync after {timeout:.0f}s: {lagging[:5]}")
            time.sleep(0.5)

    def active_controller(self) -> Node:
        """The node that is the quorum's leader now (from the nodes' own logs is
        fragile; the metadata quorum tool asks the quorum itself)."""
        lib = resolve_jars()
        result = subprocess.run(  # noqa: S603 - java on our own classpath
            _java(
                lib,
                "org.apache.kafka.tools.MetadataQuorumCommand",
                "--bootstrap-server",
                self._serving(),
                "describe",
                "--status",
            ),
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        for line in result.stdout.splitlines():
            if line.startswith("LeaderId:"):
                return self.node(int(line.split(":", 1)[1]))
        raise KafkaUnavailable(f"no quorum leader: {result.stderr.strip()[-300:]}")

    def _serving(self) -> str:
        return ",".join(n.address for n in self.nodes if n.running)

    def wait(self) -> int:
        """Block until every node has exited (a node killed or restarted by
        hand leaves the cluster running); the last status."""
        status = 0
        while any(n.running for n in self.nodes):
            time.sleep(1.0)
        for node in self.nodes:
            if node.process is not None:
                status = node.process.wait()
        return status

    def stop(self) -> None:
        """Stop every node."""
        for node in self.nodes:
            node.resume()
        for node in self.nodes:
            node.stop(timeout=20)


def _properties(node: Node, voters: str) -> str:
    overrides = {
        **REPLICATED,
        "node.id": str(node.node_id),
        "controller.quorum.voters": voters,
        "listeners": (
            f"PLAINTEXT://localhost:{node.port},CONTROLLER://localhost:{node.controller_port},"
            f"PROXIED://localhost:{node.proxied_port}"
        ),
        "advertised.listeners": (
            f"PLAINTEXT://localhost:{node.port},PROXIED://localhost:{node.relay_port}"
        ),
        "listener.security.protocol.map": (
            "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,PROXIED:PLAINTEXT"
        ),
        "log.dirs": str(node.workdir / "data"),
    }
    lines = [
        line
        for line in _SERVER_PROPERTIES.read_text().splitlines()
        if line.split("=", 1)[0].strip() not in overrides
    ]
    return "\n".join([*lines, *(f"{k}={v}" for k, v in overrides.items())]) + "\n"


def start_apache_kafka_cluster(
    nodes: int = 3, workdir: Path | None = None, timeout: float = 120.0
) -> ApacheKafkaCluster:
    """Format and start `nodes` KRaft nodes; return once every one serves."""
    lib = resolve_jars()
    workdir = workdir or Path(tempfile.mkdtemp(prefix="apache-kafka-cluster-"))
    members = [
        Node(i, free_port(), free_port(), workdir / f"node-{i}", lib, free_port(), free_port())
        for i in range(1, nodes + 1)
    ]
    voters = ",".join(f"{n.node_id}@localhost:{n.controller_port}" for n in members)
    cluster_id = new_cluster_id()
    for node in members:
        node.workdir.mkdir(parents=True, exist_ok=True)
        config = node.workdir / "server.properties"
        config.write_text(_properties(node, voters))
        formatted = subprocess.run(  # noqa: S603 - java on our own classpath
            _java(lib, "kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(config)),
            capture_output=True,
            text=True,
            check=False,
        )
        if formatted.returncode != 0:
            raise KafkaUnavailable(f"kafka-storage format failed: {formatted.stderr[-500:]}")
    cluster = ApacheKafkaCluster(members, workdir)
    for node in members:
        node.start()
    try:
        for node in members:
            cluster.wait_serving(node, timeout)
    except KafkaUnavailable:
        cluster.stop()
        raise
    return cluster
