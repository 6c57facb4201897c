"""The fault suite: `pytest -m faults`, `--fault-iterations N` for longer runs."""

from __future__ import annotations

import pytest


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
