"""Options shared by the whole suite."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--fault-iterations",
        default="5",
        help="kill -9 / restart rounds in the fault suite (default 5)",
    )
