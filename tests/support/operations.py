"""Ask a live worker's web server: JSON endpoints and its Prometheus metrics."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from tests.support.polling import poll

__all__ = ["Samples", "get", "scrape", "wait_ready_answers_200"]

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
"""Metric samples: (sample name, its labels) -> value."""


def get(url: str, token: str | None = None, timeout: float = 10.0) -> tuple[int, Any]:
    """(status, decoded JSON body) of `GET url`, an error status included."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - a test's own worker
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def scrape(url: str) -> Samples:
    """Every sample of `url/metrics`, parsed by prometheus-client."""
    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as answer:  # noqa: S310
        text = answer.read().decode()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def wait_ready_answers_200(url: str, timeout: float = 60.0) -> None:
    """Block until `url/ready` answers 200."""
    poll(
        lambda: get(f"{url}/ready", timeout=2)[0] == 200,
        timeout=timeout,
        what=f"{url}/ready answering 200",
        ignoring=(OSError,),
    )
