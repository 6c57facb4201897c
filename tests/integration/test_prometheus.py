"""A real Prometheus scrapes a live worker: the series it stores are the
worker's, read back through Prometheus's HTTP API, and the alert rules load."""

from __future__ import annotations

import json
import subprocess
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from streams.kafka.embedded import free_port
from streams.testing.harness import Harness
from streams.testing.logs import follower_change
from tests.support.debian import debian_program
from tests.support.operations import scrape
from tests.support.polling import poll

pytestmark = pytest.mark.integration

ALERTS = Path(__file__).parent.parent.parent / "deploy" / "prometheus" / "alerts.yml"


def _api(base: str, path: str, **params: str) -> Any:
    query = f"?{urllib.parse.urlencode(params)}" if params else ""
    with urllib.request.urlopen(f"{base}/api/v1/{path}{query}", timeout=5) as answer:  # noqa: S310
        body = json.loads(answer.read())
    assert body["status"] == "success", body
    return body["data"]


@pytest.fixture
def prometheus(thresholds_harness: Harness, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(Prometheus's URL, the scraped worker's URL)."""
    binary = debian_program("prometheus", "prometheus")
    worker = thresholds_harness.start_worker()
    target = worker.url.removeprefix("http://")
    (tmp_path / "alerts.yml").write_text(ALERTS.read_text())
    (tmp_path / "prometheus.yml").write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        "rule_files: [alerts.yml]\n"
        "scrape_configs:\n"
        f"  - job_name: thresholds\n    static_configs: [{{targets: ['{target}']}}]\n"
    )
    port = free_port()
    log = (tmp_path / "prometheus.log").open("wb")
    process = subprocess.Popen(
        [
            binary,
            "--config.file=prometheus.yml",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield f"http://127.0.0.1:{port}", worker.url
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def test_prometheus_stores_the_workers_series_and_loads_the_alert_rules(
    prometheus: tuple[str, str], thresholds_harness: Harness
) -> None:
    base, worker = prometheus
    h, topic = thresholds_harness, thresholds_harness.topics.follower_changes
    h.produce([follower_change(f"p{i}", 400_000 + i * 50_000) for i in range(8)])
    h.wait_processed(timeout=60)
    here = scrape(worker)
    read = here[("thresholds_events_total", frozenset({("topic", topic)}))]
    crossed = here[
        (
            "thresholds_crossings_total",
            frozenset({("platform", "weibo"), ("threshold", "500000"), ("direction", "up")}),
        )
    ]
    assert (read, crossed) == (8, 6)

    def stored(query: str) -> float | None:
        result = _api(base, "query", query=query)["result"]
        return float(result[0]["value"][1]) if result else None

    poll(
        lambda: stored(f'thresholds_events_total{{topic="{topic}"}}') == read,
        timeout=60,
        what="Prometheus storing the worker's count",
        every=0.5,
        ignoring=(OSError,),
    )
    crossings = 'thresholds_crossings_total{platform="weibo",threshold="500000",direction="up"}'
    assert stored(crossings) == crossed
    assert stored('thresholds_ready{job="thresholds"}') == 1
    assert stored("sum(thresholds_consumer_lag)") == 0
    assert stored("thresholds_processing_seconds_count") is not None
    (group,) = _api(base, "rules")["groups"]
    assert {r["name"] for r in group["rules"]} == {
        "ThresholdsWorkerNotReady",
        "ThresholdsLagGrowing",
        "ThresholdsDeadLetters",
        "ThresholdsRecoveryStalled",
        "ThresholdsNoInput",
    }
    assert all(r["health"] == "ok" for r in group["rules"]), group["rules"]
