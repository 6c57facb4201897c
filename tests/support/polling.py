"""The one way the tests wait for something: ask again until it is so, or a deadline."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def poll(
    check: Callable[[], T | None],
    *,
    timeout: float,
    what: str,
    every: float = 0.2,
    ignoring: tuple[type[BaseException], ...] = (),
) -> T:
    """The first answer of `check()` that is not None or false; TimeoutError
    naming `what` when there is none within `timeout` seconds. A check that
    raises one of `ignoring` (a server not up yet) counts as no answer."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            answer = check()
        except ignoring:
            answer = None
        if answer:
            return answer
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not so after {timeout:.0f}s")
        time.sleep(every)
