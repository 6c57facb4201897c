"""The fault suite: `pytest -m faults`, `--fault-iterations N` for longer runs."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from streams.kafka import apache
from streams.kafka.apache.cluster import ApacheKafkaCluster, start_apache_kafka_cluster


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/faults" in str(item.fspath):
            item.add_marker(pytest.mark.faults)
            item.add_marker(pytest.mark.integration)


@pytest.fixture
def fault_iterations(request: pytest.FixtureRequest) -> int:
    """How many kill/restart rounds (5 in CI)."""
    return int(request.config.getoption("--fault-iterations"))


_FIGURES: list[str] = []


@pytest.fixture
def recovery_figures() -> list[str]:
    """Recovery times measured by the fault suite, printed at the end of the run."""
    return _FIGURES


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _FIGURES:
        terminalreporter.section("recovery figures")
        for line in _FIGURES:
            terminalreporter.write_line(line)


_CLUSTER_LOGS: list[Path] = []


@pytest.fixture(scope="session")
def kafka_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApacheKafkaCluster]:
    """Three Apache Kafka nodes (RF 3, min ISR 2) for the broker-fault suite;
    skipped in the embedded broker's pass and without java and mvn."""
    if os.environ.get("THRESHOLDS_TEST_BROKER") == "tansu" or not apache.can_run():
        pytest.skip("the broker-fault suite runs on a three-node Apache Kafka")
    cluster = start_apache_kafka_cluster(3, tmp_path_factory.mktemp("cluster"))
    _CLUSTER_LOGS.extend(cluster.logs)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """A failed broker-fault test shows the end of each node's own log."""
    outcome: Any = yield
    report = outcome.get_result()
    if report.failed and "kafka_cluster" in getattr(item, "fixturenames", ()):
        for log in _CLUSTER_LOGS:
            if log.exists():
                tail = log.read_text(errors="replace").splitlines()[-25:]
                report.sections.append((f"{log.parent.name} log (last 25 lines)", "\n".join(tail)))
